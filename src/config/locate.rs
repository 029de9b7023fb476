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

/// The (line, column) of a dotted key itself, for errors about the key as a whole.
pub fn key_position(text: &str, key: &str) -> Option<(u64, u64)> {
    let leaf = key.rsplit('.').next()?;
    text.lines().enumerate().find_map(|(i, l)| {
        let line = i as u64 + 1;
        (key_path_at(text, line).as_deref() == Some(key)).then(|| {
            let column = l.find(leaf).map_or(0, |c| l[..c].chars().count());
            (line, column as u64 + 1)
        })
    })
}

/// The (line, column) of entry `index` of the list under a dotted key, written in flow
/// style (`paths: [a, b]`, on one line) or block style (`- a` lines); the key's own
/// place when the entry cannot be found.
pub fn locate_item(text: &str, key: &str, index: usize) -> Option<(u64, u64)> {
    let at = key_position(text, key)?;
    let lines: Vec<&str> = text.lines().collect();
    let line_idx = usize::try_from(at.0).ok()? - 1;
    let l = lines[line_idx];
    let indent = l.len() - l.trim_start().len();
    let after_key = l.find(':').map_or(l.len(), |c| c + 1);
    let value = &l[after_key..];
    if value.trim_start().starts_with('[') {
        let start = after_key + value.find('[').unwrap_or(0) + 1;
        let mut items = Vec::new();
        let mut item_start = None;
        let mut quote = None;
        for (i, c) in l[start..].char_indices() {
            let col = start + i;
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, ',' | ']') => {
                    items.extend(item_start.take());
                    if c == ']' {
                        break;
                    }
                }
                (None, c) if c.is_whitespace() => {}
                (None, c) => {
                    if item_start.is_none() {
                        item_start = Some(col);
                    }
                    if c == '"' || c == '\'' {
                        quote = Some(c);
                    }
                }
            }
        }
        items.extend(item_start);
        let column = |byte: usize| l[..byte].chars().count() as u64 + 1;
        return Some(items.get(index).map_or(at, |&c| (at.0, column(c))));
    }
    let items = lines[line_idx + 1..]
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map_while(|(i, l)| {
            let item_indent = l.len() - l.trim_start().len();
            let body = l.trim_start().strip_prefix('-')?;
            (item_indent >= indent).then(|| {
                let col = item_indent + 1 + (body.len() - body.trim_start().len());
                (line_idx + i + 2, col + 1)
            })
        })
        .collect::<Vec<_>>();
    Some(
        items
            .get(index)
            .map_or(at, |&(line, col)| (line as u64, col as u64)),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_entries_are_located_in_flow_and_block_style() {
        let flow = "version: 1\ninput:\n  paths: [r1, \"r, 2\", missing]\n";
        let wide = "input:\n  paths: [\"été\", b]\n";
        assert_eq!(
            locate_item(wide, "input.paths", 1),
            Some((2, 18)),
            "columns count characters"
        );
        assert_eq!(locate_item(flow, "input.paths", 0), Some((3, 11)));
        assert_eq!(locate_item(flow, "input.paths", 1), Some((3, 15)));
        assert_eq!(locate_item(flow, "input.paths", 2), Some((3, 23)));
        assert_eq!(
            locate_item(flow, "input.paths", 3),
            Some((3, 3)),
            "the key itself"
        );
        let block = "input:\n  paths:\n    - a\n    # note\n    -   b\ntarget:\n  dir: o\n";
        assert_eq!(locate_item(block, "input.paths", 0), Some((3, 7)));
        assert_eq!(locate_item(block, "input.paths", 1), Some((5, 9)));
        assert_eq!(locate_item(block, "input.paths", 2), Some((2, 3)));
        let same_indent = "input:\n  paths:\n  - a\n  - b\n";
        assert_eq!(locate_item(same_indent, "input.paths", 1), Some((4, 5)));
        assert_eq!(locate_item(block, "input.urls", 0), None);
        assert_eq!(key_position(block, "target"), Some((6, 1)));
    }
}
