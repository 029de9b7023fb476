//! Messages for people, in English and Simplified Chinese (Project Fluent).
//!
//! The words live in `locales/*/pixpipe.ftl`, compiled into the binary. A language
//! is chosen once per process (`--lang`, then `PIXPIPE_LANG`, then the POSIX locale
//! variables) and handed down as a [`Messages`]; nothing is switched globally.
//! Machine-readable output (JSON, the report, the ledger, the manifest) is never
//! translated: it keeps the English words, rendered from the same English file.
//!
//! Owns: the language choice, the bundles, [`Localized`] (a message id with its
//! arguments, carried by outcomes so each sink renders it in its own language).
//! Must not: know what the messages are about.

use std::sync::{Arc, LazyLock};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

const EN: &str = include_str!("../../locales/en/pixpipe.ftl");
const ZH_CN: &str = include_str!("../../locales/zh-CN/pixpipe.ftl");

/// A language pixpipe speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    ZhCn,
}

impl Lang {
    pub const NAMES: &'static str = "en, zh-CN";

    /// The BCP 47 tag, as `<html lang>` and `--lang` spell it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// A name given by a person (`--lang`, `PIXPIPE_LANG`): `en`, `zh-CN`, `zh_CN`, `zh`…
    pub fn parse(name: &str) -> Option<Lang> {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        match n.as_str() {
            "en" | "en-us" | "en-gb" | "english" => Some(Lang::En),
            "zh" | "zh-cn" | "zh-hans" | "zh-hans-cn" | "zh-sg" => Some(Lang::ZhCn),
            _ => None,
        }
    }

    /// From a POSIX locale (`zh_CN.UTF-8`, `C`, `en_US`): Chinese for a Simplified
    /// Chinese locale, English for anything else.
    fn from_locale(locale: &str) -> Lang {
        let base = locale.split(['.', '@']).next().unwrap_or("");
        match Lang::parse(base) {
            Some(l) => l,
            None if base.to_ascii_lowercase().starts_with("zh_") => {
                // zh_TW and zh_HK write Traditional Chinese: English serves them better
                // than the wrong script.
                Lang::En
            }
            None => Lang::En,
        }
    }

    /// The language of this process: `flag` (`--lang`), then `PIXPIPE_LANG`, then the
    /// first non-empty of `LC_ALL`, `LC_MESSAGES`, `LANG`; English otherwise. A name in
    /// the flag or `PIXPIPE_LANG` that pixpipe does not speak is an error, said in words.
    pub fn choose(
        flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Lang, UnknownLang> {
        let explicit = flag.map(|f| ("--lang", f.to_string())).or_else(|| {
            env("PIXPIPE_LANG")
                .filter(|v| !v.is_empty())
                .map(|v| ("PIXPIPE_LANG", v))
        });
        if let Some((from, name)) = explicit {
            return Lang::parse(&name).ok_or(UnknownLang { from, name });
        }
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|k| env(k).filter(|v| !v.is_empty()));
        Ok(locale.map_or(Lang::En, |l| Lang::from_locale(&l)))
    }
}

/// A language name pixpipe does not speak.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{from}: pixpipe speaks {}, not {name:?}", Lang::NAMES)]
pub struct UnknownLang {
    pub from: &'static str,
    pub name: String,
}

/// A message id and its arguments, to be put into words by a [`Messages`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Localized {
    pub id: &'static str,
    pub args: Vec<(&'static str, String)>,
    /// Arguments that are messages themselves, put into the same language first (a
    /// reason inside "gave up after 5 attempts: …").
    pub nested: Vec<(&'static str, Localized)>,
}

impl Localized {
    pub fn new(id: &'static str, args: &[(&'static str, String)]) -> Localized {
        Localized {
            id,
            args: args.to_vec(),
            nested: Vec::new(),
        }
    }

    /// This message with `inner` as its argument `name`.
    pub fn with(mut self, name: &'static str, inner: Localized) -> Localized {
        self.nested.push((name, inner));
        self
    }

    /// The English words, for machine-readable output and logs.
    pub fn english(&self) -> String {
        english().render(self)
    }
}

/// The messages of one language, with English behind them for any id it lacks.
#[derive(Clone)]
pub struct Messages {
    lang: Lang,
    bundle: Arc<FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Messages({})", self.lang.tag())
    }
}

/// English, for the words that machine-readable output keeps. Built once: it never changes.
static ENGLISH: LazyLock<Messages> = LazyLock::new(|| Messages::new(Lang::En));

pub fn english() -> &'static Messages {
    &ENGLISH
}

impl Messages {
    pub fn new(lang: Lang) -> Messages {
        let (text, tag) = match lang {
            Lang::En => (EN, "en"),
            Lang::ZhCn => (ZH_CN, "zh-CN"),
        };
        let id: LanguageIdentifier = tag.parse().expect("a valid language tag");
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // Terminals and logs want the plain text, without Unicode isolation marks.
        bundle.set_use_isolating(false);
        let resource = FluentResource::try_new(text.to_string()).unwrap_or_else(|(res, _)| res);
        let _ = bundle.add_resource(resource);
        Messages {
            lang,
            bundle: Arc::new(bundle),
        }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The words of message `id` with `args`; the English ones when this language lacks it.
    pub fn text(&self, id: &str, args: &[(&str, String)]) -> String {
        match self.format(id, args) {
            Some(t) => t,
            None if self.lang != Lang::En => english().text(id, args),
            None => id.to_string(),
        }
    }

    pub fn render(&self, l: &Localized) -> String {
        let mut args: Vec<(&str, String)> = l.args.iter().map(|(k, v)| (*k, v.clone())).collect();
        args.extend(l.nested.iter().map(|(k, inner)| (*k, self.render(inner))));
        self.text(l.id, &args)
    }

    fn format(&self, id: &str, args: &[(&str, String)]) -> Option<String> {
        let message = self.bundle.get_message(id)?;
        let pattern = message.value()?;
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            // Numbers stay numbers, so that plural rules can see them.
            match v.parse::<f64>() {
                Ok(n) if is_count(v) => fargs.set(*k, FluentValue::from(n)),
                _ => fargs.set(*k, FluentValue::from(v.clone())),
            }
        }
        let mut errors = Vec::new();
        let text = self
            .bundle
            .format_pattern(pattern, Some(&fargs), &mut errors);
        Some(text.into_owned())
    }
}

/// A whole number as written by pixpipe (no sign, no leading zero): what plural rules
/// may look at. Anything else, a name made of digits among them, stays text.
fn is_count(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && (v == "0" || !v.starts_with('0'))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast;

    use super::*;

    /// Every message id with the names of the variables its value uses.
    fn ids_and_variables(text: &str) -> BTreeMap<String, BTreeSet<String>> {
        let resource = fluent_syntax::parser::parse(text).expect("the file parses");
        let mut out = BTreeMap::new();
        for entry in resource.body {
            if let ast::Entry::Message(m) = entry {
                let mut vars = BTreeSet::new();
                if let Some(p) = &m.value {
                    pattern_variables(p, &mut vars);
                }
                out.insert(m.id.name.to_string(), vars);
            }
        }
        out
    }

    fn pattern_variables(p: &ast::Pattern<&str>, vars: &mut BTreeSet<String>) {
        for element in &p.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                expression_variables(expression, vars);
            }
        }
    }

    fn expression_variables(e: &ast::Expression<&str>, vars: &mut BTreeSet<String>) {
        match e {
            ast::Expression::Inline(i) => inline_variables(i, vars),
            ast::Expression::Select { selector, variants } => {
                inline_variables(selector, vars);
                for v in variants {
                    pattern_variables(&v.value, vars);
                }
            }
        }
    }

    fn inline_variables(i: &ast::InlineExpression<&str>, vars: &mut BTreeSet<String>) {
        match i {
            ast::InlineExpression::VariableReference { id } => {
                vars.insert(id.name.to_string());
            }
            ast::InlineExpression::Placeable { expression } => {
                expression_variables(expression, vars)
            }
            _ => {}
        }
    }

    #[test]
    fn both_languages_have_every_message_with_the_same_placeholders() {
        let en = ids_and_variables(EN);
        let zh = ids_and_variables(ZH_CN);
        assert!(en.len() > 50, "{} messages", en.len());
        let en_ids: BTreeSet<_> = en.keys().collect();
        let zh_ids: BTreeSet<_> = zh.keys().collect();
        assert_eq!(
            en_ids.symmetric_difference(&zh_ids).collect::<Vec<_>>(),
            Vec::<&&String>::new(),
            "ids in one language only"
        );
        for (id, vars) in &en {
            assert_eq!(vars, &zh[id], "placeholders of {id}");
        }
        // And the files parse for the bundles too (no message lost to a syntax error).
        for text in [EN, ZH_CN] {
            assert!(FluentResource::try_new(text.to_string()).is_ok());
        }
    }

    #[test]
    fn every_id_the_code_names_exists() {
        let en = ids_and_variables(EN);
        let code = [
            include_str!("../record/progress.rs"),
            include_str!("../record/outcome.rs"),
            include_str!("../record/html/mod.rs"),
            include_str!("../record/html/page.rs"),
            include_str!("../cli/mod.rs"),
            include_str!("../cli/commands.rs"),
            include_str!("../cli/render.rs"),
            include_str!("../cli/ledger.rs"),
            include_str!("../pipeline/prepare.rs"),
            include_str!("../pipeline/pairs.rs"),
            include_str!("../pipeline/dedupe.rs"),
            include_str!("../pipeline/scheduler.rs"),
            include_str!("../media/probe.rs"),
            include_str!("../media/family/heif.rs"),
        ];
        let mut named = 0;
        for text in code {
            for (i, _) in text.match_indices("\"msg-") {
                let id: String = text[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                if id.ends_with('-') {
                    continue; // a family made whole at run time (`msg-word-{state}`)
                }
                named += 1;
                assert!(
                    en.contains_key(&id),
                    "{id} is used but not in the .ftl files"
                );
            }
        }
        assert!(named > 30, "{named} ids found in the code");
    }

    #[test]
    fn the_language_comes_from_the_flag_then_pixpipe_lang_then_the_locale() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let zh_env = env(&[("LANG", "zh_CN.UTF-8")]);
        assert_eq!(Lang::choose(None, zh_env).unwrap(), Lang::ZhCn);
        assert_eq!(Lang::choose(Some("en"), zh_env).unwrap(), Lang::En);
        assert_eq!(Lang::choose(None, env(&[("LANG", "C")])).unwrap(), Lang::En);
        assert_eq!(Lang::choose(None, env(&[])).unwrap(), Lang::En);
        let both = env(&[("PIXPIPE_LANG", "zh-CN"), ("LANG", "en_US.UTF-8")]);
        assert_eq!(Lang::choose(None, both).unwrap(), Lang::ZhCn);
        // LC_ALL wins over LANG only when set to something.
        let all = env(&[("LC_ALL", ""), ("LC_MESSAGES", "zh_CN"), ("LANG", "C")]);
        assert_eq!(Lang::choose(None, all).unwrap(), Lang::ZhCn);
        assert_eq!(
            Lang::choose(None, env(&[("LANG", "zh_TW.UTF-8")])).unwrap(),
            Lang::En
        );
        let e = Lang::choose(Some("fr"), env(&[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--lang: pixpipe speaks en, zh-CN, not \"fr\""
        );
    }

    #[test]
    fn chinese_falls_back_to_english_and_numbers_take_plurals() {
        let zh = Messages::new(Lang::ZhCn);
        assert_eq!(zh.text("no-such-message", &[]), "no-such-message");
        let en = Messages::new(Lang::En);
        let one = en.text("msg-files-left-to-others", &[("n", "1".into())]);
        let many = en.text("msg-files-left-to-others", &[("n", "3".into())]);
        assert_ne!(one.replace('1', "3"), many, "{one} / {many}");
        assert!(
            zh.text("msg-state-uploaded", &[("n", "2".into())])
                .contains('2')
        );
    }
}
