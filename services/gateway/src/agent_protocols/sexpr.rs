//! FIPA ACL and KQML in their native syntax: `(ask-one :sender a :content (gpu-instances) :reply-with
//! q1)` read into the JSON form the protocol files answer, and their JSON replies written back as
//! s-expressions, with the content in `:language json`.

use serde_json::{Map, Value, json};

/// How deep lists may nest: far beyond any real message, short of any stack.
const MAX_DEPTH: usize = 32;
/// How many atoms, strings and lists one message may hold: far beyond any real message, and a
/// bound on the memory a hostile one costs (each takes tens of bytes).
const MAX_NODES: usize = 10_000;

/// One expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Sexpr {
    /// A symbol or a number: `ask-one`, `:sender`, `12.5`.
    Atom(String),
    /// A quoted string.
    Text(String),
    /// `( … )`.
    List(Vec<Sexpr>),
}

/// Which protocol a message is read for: FIPA names agents with `agent-identifier`s, KQML with
/// plain names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// FIPA ACL.
    Fipa,
    /// KQML.
    Kqml,
}

/// Whether `body` is written in the native syntax rather than JSON.
pub fn is_sexpr(body: &[u8]) -> bool {
    body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'(')
}

/// Parses exactly one expression.
pub fn parse(text: &str) -> Result<Sexpr, String> {
    let mut parser = Parser {
        chars: text.chars().peekable(),
        nodes: 0,
    };
    let expression = parser.expression(0)?;
    parser.skip_space();
    match parser.chars.next() {
        None => Ok(expression),
        Some(extra) => Err(format!("unexpected {extra:?} after the message")),
    }
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    nodes: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.chars.next_if(|c| c.is_whitespace()).is_some() {}
    }

    fn expression(&mut self, depth: usize) -> Result<Sexpr, String> {
        if depth > MAX_DEPTH {
            return Err(format!("lists nest deeper than {MAX_DEPTH}"));
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(format!("the message holds more than {MAX_NODES} items"));
        }
        self.skip_space();
        match self.chars.next() {
            None => Err("the message ends too early".to_owned()),
            Some('(') => {
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    match self.chars.peek() {
                        None => return Err("a list is not closed".to_owned()),
                        Some(')') => {
                            self.chars.next();
                            return Ok(Sexpr::List(items));
                        }
                        Some(_) => items.push(self.expression(depth + 1)?),
                    }
                }
            }
            Some(')') => Err("a ) closes nothing".to_owned()),
            Some('"') => {
                let mut text = String::new();
                loop {
                    match self.chars.next() {
                        None => return Err("a string is not closed".to_owned()),
                        Some('"') => return Ok(Sexpr::Text(text)),
                        Some('\\') => text.push(self.chars.next().ok_or("a string is not closed")?),
                        Some(c) => text.push(c),
                    }
                }
            }
            Some(first) => {
                let mut atom = first.to_string();
                while let Some(c) = self
                    .chars
                    .next_if(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '"'))
                {
                    atom.push(c);
                }
                Ok(Sexpr::Atom(atom))
            }
        }
    }
}

/// Reads a message `(performative :key value …)` into the JSON form, the content's head under
/// `query` (or `action` for the performatives that ask for one) and its `:key value` pairs beside.
pub fn message(expression: &Sexpr, dialect: Dialect) -> Result<Value, String> {
    let Sexpr::List(items) = expression else {
        return Err("a message is a list: (performative :key value …)".to_owned());
    };
    let Some(Sexpr::Atom(performative)) = items.first() else {
        return Err("a message starts with its performative".to_owned());
    };
    let performative = performative.to_ascii_lowercase();
    let head_key = if matches!(performative.as_str(), "request" | "achieve") {
        "action"
    } else {
        "query"
    };
    let mut object = Map::new();
    object.insert("performative".to_owned(), json!(performative));
    for (key, value) in pairs(&items[1..])? {
        let value = match key.as_str() {
            "content" => content(value, head_key)?,
            "sender" => agent(value, dialect),
            "receiver" => match (dialect, value) {
                (Dialect::Fipa, Sexpr::List(members)) if is_atom(members.first(), "set") => {
                    Value::Array(members[1..].iter().map(|member| agent(member, dialect)).collect())
                }
                (Dialect::Fipa, value) => json!([agent(value, dialect)]),
                (Dialect::Kqml, value) => agent(value, dialect),
            },
            _ => plain(value),
        };
        object.insert(key, value);
    }
    Ok(Value::Object(object))
}

/// Reads `:key value` pairs.
fn pairs(items: &[Sexpr]) -> Result<Vec<(String, &Sexpr)>, String> {
    let mut pairs = Vec::new();
    let mut rest = items.iter();
    while let Some(key) = rest.next() {
        let Sexpr::Atom(key) = key else {
            return Err("expected a :key".to_owned());
        };
        let Some(name) = key.strip_prefix(':') else {
            return Err(format!("expected a :key, not {key}"));
        };
        let value = rest.next().ok_or_else(|| format!(":{name} has no value"))?;
        pairs.push((name.to_ascii_lowercase(), value));
    }
    Ok(pairs)
}

fn is_atom(expression: Option<&Sexpr>, name: &str) -> bool {
    matches!(expression, Some(Sexpr::Atom(atom)) if atom.eq_ignore_ascii_case(name))
}

/// An agent: a name, or FIPA's `(agent-identifier :name a)`.
fn agent(expression: &Sexpr, dialect: Dialect) -> Value {
    let name = match expression {
        Sexpr::List(items) if is_atom(items.first(), "agent-identifier") => pairs(&items[1..])
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(key, _)| key == "name"))
            .map_or(Value::Null, |(_, name)| plain(name)),
        other => plain(other),
    };
    match dialect {
        Dialect::Fipa => json!({"name": name}),
        Dialect::Kqml => name,
    }
}

/// The content: `(gpu-instances :provider vast.ai)`, a quoted string holding such a list, or a
/// bare name.
fn content(expression: &Sexpr, head_key: &str) -> Result<Value, String> {
    match expression {
        Sexpr::List(items) => {
            let mut object = Map::new();
            match items.first() {
                Some(Sexpr::Atom(head)) => object.insert(head_key.to_owned(), json!(head)),
                _ => return Err("the content starts with what to do: (gpu-instances …)".to_owned()),
            };
            for (key, value) in pairs(&items[1..])? {
                object.insert(key, plain(value));
            }
            Ok(Value::Object(object))
        }
        Sexpr::Text(text) if is_sexpr(text.as_bytes()) => content(&parse(text)?, head_key),
        Sexpr::Text(name) | Sexpr::Atom(name) => Ok(json!({head_key: name})),
    }
}

/// A value: atoms and strings as text (`4090` may be a GPU model, `12345` an offer id; the
/// action's schema decides what is a number, see `typed_arguments`), lists as arrays.
fn plain(expression: &Sexpr) -> Value {
    match expression {
        Sexpr::Text(text) | Sexpr::Atom(text) => json!(text),
        Sexpr::List(items) => Value::Array(items.iter().map(plain).collect()),
    }
}

/// Writes a JSON reply as `(performative :sender … :content "<json>" …)`.
pub fn reply(reply: &Value, dialect: Dialect) -> String {
    let mut text = format!(
        "({}",
        atom_or_text(reply["performative"].as_str().unwrap_or("error"))
    );
    let mut field = |key: &str, value: String| {
        text.push_str(&format!("\n  :{key} {value}"));
    };
    field("sender", agent_text(&reply["sender"], dialect));
    match (&reply["receiver"], dialect) {
        (Value::Array(receivers), Dialect::Fipa) => {
            let members: Vec<String> = receivers
                .iter()
                .map(|receiver| agent_text(receiver, dialect))
                .collect();
            field("receiver", format!("(set {})", members.join(" ")));
        }
        (receiver, _) if !receiver.is_null() => field("receiver", agent_text(receiver, dialect)),
        _ => {}
    }
    for key in ["conversation-id", "in-reply-to", "language", "ontology"] {
        match &reply[key] {
            Value::String(value) => field(key, atom_or_text(value)),
            Value::Null => {}
            other => field(key, atom_or_text(&other.to_string())),
        }
    }
    field("content", quoted(&reply["content"].to_string()));
    text.push(')');
    text
}

fn agent_text(agent: &Value, dialect: Dialect) -> String {
    let name = match (dialect, agent) {
        (Dialect::Fipa, Value::Object(agent)) => agent.get("name").cloned().unwrap_or(Value::Null),
        (_, agent) => agent.clone(),
    };
    let name = match name {
        Value::String(name) => atom_or_text(&name),
        other => quoted(&other.to_string()),
    };
    match dialect {
        Dialect::Fipa => format!("(agent-identifier :name {name})"),
        Dialect::Kqml => name,
    }
}

fn atom_or_text(text: &str) -> String {
    let atom = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '@'));
    if atom { text.to_owned() } else { quoted(text) }
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kqml_question_is_read_with_its_content_and_reply_with() {
        let expression = parse(
            "(ask-one :sender a :content (gpu-instances :provider vast.ai :page_size 2) :reply-with q1)",
        )
        .expect("parses");
        assert_eq!(
            message(&expression, Dialect::Kqml).expect("a message"),
            json!({"performative": "ask-one", "sender": "a", "reply-with": "q1",
                   "content": {"query": "gpu-instances", "provider": "vast.ai", "page_size": "2"}})
        );
    }

    #[test]
    fn a_fipa_request_names_agents_and_may_quote_its_content() {
        let text = r#"(request :sender (agent-identifier :name buyer) :receiver (set (agent-identifier :name aiserve-gpuproxy))
                       :content "(spending.check :estimated_cost 2.5)" :conversation-id c-1)"#;
        assert_eq!(
            message(&parse(text).expect("parses"), Dialect::Fipa).expect("a message"),
            json!({"performative": "request", "sender": {"name": "buyer"},
                   "receiver": [{"name": "aiserve-gpuproxy"}], "conversation-id": "c-1",
                   "content": {"action": "spending.check", "estimated_cost": "2.5"}})
        );
    }

    #[test]
    fn a_message_too_large_to_be_real_is_refused() {
        let wide = format!("(ask :content ({}))", "a ".repeat(MAX_NODES));
        assert!(parse(&wide).is_err());
    }

    #[test]
    fn malformed_messages_say_why() {
        for text in [
            "(ask-one :sender",
            "(ask-one :sender a))",
            "(:sender a)",
            "(ask-one sender a)",
            "()",
            "\"x",
        ] {
            let read = parse(text).and_then(|expression| message(&expression, Dialect::Kqml));
            assert!(read.is_err(), "{text}");
        }
        let deep = format!("{}{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn a_reply_is_written_back_and_reads_again() {
        let reply_json = json!({"performative": "tell", "sender": "aiserve-gpuproxy", "receiver": "a",
                                "in-reply-to": "q1", "language": "json", "content": {"result": {"say": "hi \"there\""}}});
        let text = reply(&reply_json, Dialect::Kqml);
        assert!(
            text.starts_with("(tell\n  :sender aiserve-gpuproxy\n  :receiver a"),
            "{text}"
        );
        let read = message(&parse(&text).expect("its own output parses"), Dialect::Kqml).expect("a message");
        assert_eq!(read["in-reply-to"], "q1");
        let content = match &read["content"] {
            Value::Object(content) => content.get("query").cloned().unwrap_or_default(),
            other => other.clone(),
        };
        let content: Value = serde_json::from_str(content.as_str().expect("json text")).expect("json");
        assert_eq!(content["result"]["say"], "hi \"there\"");
    }
}
