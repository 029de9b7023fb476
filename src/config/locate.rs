//! Where a key sits in a pipeline file, for errors that name file:line:column and
//! the dotted key (`input.follow_symlinks`) even when the parser's message does not.

pub fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// The parser's message without its own "error: line L column C:" prefix, which we print once.
pub fn strip_position(msg: &str) -> String {
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    if let Some(rest) = msg.strip_prefix("line ")
        && let Some((_, tail)) = rest.split_once(": ")
    {
        return tail.to_string();
    }
    msg.to_string()
}

/// The (line, column) of the value of a dotted key in a block-style YAML file.
pub fn locate_key(text: &str, key: &str) -> Option<(u64, u64)> {
    let leaf = key.rsplit('.').next()?;
    text.lines().enumerate().find_map(|(i, l)| {
        let line = i as u64 + 1;
        if key_path_at(text, line).as_deref() != Some(key) {
            return None;
        }
        let col = l.find(leaf).map_or(1, |c| c + leaf.len() + 1);
        let value_col =
            l[col.min(l.len())..].len() - l[col.min(l.len())..].trim_start().len() + col + 1;
        Some((line, value_col as u64))
    })
}

/// The dotted key that a (1-based) line of a block-style YAML file belongs to,
/// found by walking up to each less indented `key:` line: `input.follow_symlinks`.
pub fn key_path_at(text: &str, line: u64) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let idx = usize::try_from(line).ok()?.checked_sub(1)?;
    let key_of = |l: &str| -> Option<(usize, String)> {
        let indent = l.len() - l.trim_start().len();
        let body = l.trim_start().trim_start_matches("- ");
        let (key, _) = body.split_once(':')?;
        let key = key.trim();
        let ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        ok.then(|| (indent, key.to_string()))
    };
    let (mut indent, first) = key_of(lines.get(idx)?)?;
    let mut path = vec![first];
    for l in lines[..idx].iter().rev() {
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        if let Some((i, k)) = key_of(l)
            && i < indent
        {
            path.push(k);
            indent = i;
            if i == 0 {
                break;
            }
        }
    }
    path.reverse();
    Some(path.join("."))
}
