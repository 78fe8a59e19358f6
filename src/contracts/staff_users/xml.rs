//! Seed 003's XML bodies, read with quick-xml into the same JSON-like shape the JSON reader gives, and
//! responses written from one ordered tree into either format.
//!
//! Reading refuses what makes XML dangerous to a server: any `<!DOCTYPE>` (so no DTD, no entity
//! declarations, no external entities), entity references other than XML's five predefined ones and
//! character references, nesting deeper than [`MAX_DEPTH`], more than [`MAX_ELEMENTS`] elements and
//! more than [`MAX_ATTRIBUTES`] attributes on one element. quick-xml's duplicate-attribute check is
//! off: it compares each attribute with every earlier one (quadratic in their number), and this
//! reader needs nothing from attributes but `nil`, so a duplicate changes nothing it reads.

use quick_xml::Reader;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

use crate::app::AppError;
use crate::domain::{Refusal, Rule};

/// A user body is three levels deep (`User/Groups/Id`, or four with `Groups/Group/Id`).
pub const MAX_DEPTH: usize = 16;
pub const MAX_ELEMENTS: usize = 10_000;
/// ServiceStack writes at most a namespace declaration or two and `nil` on an element.
pub const MAX_ATTRIBUTES: usize = 32;

struct Node {
    name: String,
    text: String,
    nil: bool,
    children: Vec<Node>,
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::invalid("body", Refusal::new(Rule::Format, message))
}

fn start(e: &BytesStart<'_>) -> Result<Node, AppError> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut nil = false;
    let mut attributes = e.attributes();
    attributes.with_checks(false);
    for (n, attr) in attributes.enumerate() {
        if n >= MAX_ATTRIBUTES {
            return Err(bad(format!("must not have more than {MAX_ATTRIBUTES} attributes on one element")));
        }
        let attr = attr.map_err(|err| bad(format!("is not well-formed XML: {err}")))?;
        // `xsi:nil="true"` / `i:nil="true"`: ServiceStack's way of writing null.
        if attr.key.local_name().as_ref() == b"nil" && attr.value.as_ref() == b"true" {
            nil = true;
        }
    }
    Ok(Node { name, text: String::new(), nil, children: Vec::new() })
}

/// Parses an XML document whose root element must be one of `roots`; returns the root's name and its
/// children as a JSON object (see [`to_value`]).
pub fn parse(body: &[u8], roots: &[&str]) -> Result<(String, Map<String, Value>), AppError> {
    let text = std::str::from_utf8(body).map_err(|_| bad("must be UTF-8 encoded"))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut elements = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| bad(format!("is not well-formed XML: {e}")))?;
        match event {
            Event::DocType(_) => {
                return Err(bad("must not contain a DOCTYPE (DTDs and entity declarations are refused)"));
            }
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(bad("must contain a single root element"));
            }
            Event::Start(e) => {
                elements += 1;
                if stack.len() >= MAX_DEPTH || elements > MAX_ELEMENTS {
                    return Err(bad(format!(
                        "must not nest deeper than {MAX_DEPTH} levels or hold more than {MAX_ELEMENTS} elements"
                    )));
                }
                stack.push(start(&e)?);
            }
            Event::Empty(e) => {
                elements += 1;
                if stack.len() >= MAX_DEPTH || elements > MAX_ELEMENTS {
                    return Err(bad(format!(
                        "must not nest deeper than {MAX_DEPTH} levels or hold more than {MAX_ELEMENTS} elements"
                    )));
                }
                let node = start(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or_else(|| bad("is not well-formed XML"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| bad(format!("is not well-formed XML: {e}")))?;
                let node = stack.last_mut().ok_or_else(|| bad("must not have text outside the root element"))?;
                node.text.push_str(&s);
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| bad(format!("is not well-formed XML: {e}")))?;
                let node = stack.last_mut().ok_or_else(|| bad("must not have text outside the root element"))?;
                node.text.push_str(&s);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.decode().map_err(|e| bad(format!("is not well-formed XML: {e}")))?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| bad(format!("must not reference the undeclared entity &{name};")))?
                            .to_owned()
                    }
                    Err(e) => return Err(bad(format!("has an invalid character reference: {e}"))),
                };
                let node = stack.last_mut().ok_or_else(|| bad("must not have text outside the root element"))?;
                node.text.push_str(&resolved);
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(bad("is not well-formed XML: unclosed element"));
    }
    let root = root.ok_or_else(|| bad("must be an XML document"))?;
    let is_payload = |n: &Node| roots.iter().any(|r| r.eq_ignore_ascii_case(&n.name));
    if is_payload(&root) {
        return Ok((root.name.clone(), children(root.children)));
    }
    // A request DTO around the payload (`<UserRequest><IntegrationKey>…</IntegrationKey><User>…</User>
    // </UserRequest>`): its one payload child, plus the wrapper's other elements it does not have.
    let (mut payload, others): (Vec<Node>, Vec<Node>) = root.children.into_iter().partition(is_payload);
    let (Some(inner), true) = (payload.pop(), payload.is_empty()) else {
        return Err(bad(format!(
            "must have the root element <{0}> or hold a single <{0}>",
            roots.first().copied().unwrap_or_default()
        )));
    };
    let name = inner.name.clone();
    let mut object = children(inner.children);
    for (k, v) in children(others) {
        if !object.keys().any(|i| i.eq_ignore_ascii_case(&k)) {
            object.insert(k, v);
        }
    }
    Ok((name, object))
}

fn children(nodes: Vec<Node>) -> Map<String, Value> {
    let mut object = Map::new();
    for child in nodes {
        let name = child.name.clone();
        object.insert(name, to_value(child));
    }
    object
}

/// A leaf is its text (`null` when `nil`); an element with children is a list of ids: each `<Id>`
/// child, or the `<Id>` inside each child (`<Groups><Group><Id>…</Id></Group></Groups>`).
fn to_value(node: Node) -> Value {
    if node.nil {
        return Value::Null;
    }
    if node.children.is_empty() {
        return Value::String(node.text);
    }
    let ids = node
        .children
        .into_iter()
        .map(|c| {
            if c.children.is_empty() {
                Value::String(c.text)
            } else {
                c.children
                    .into_iter()
                    .find(|g| g.name.eq_ignore_ascii_case("Id"))
                    .map_or(Value::Null, |g| Value::String(g.text))
            }
        })
        .collect();
    Value::Array(ids)
}

/// A response body, kept in the order the seed writes it, rendered as JSON or XML.
pub enum Out {
    /// A value; `None` is left out of both formats (ServiceStack omits nulls).
    Text(Option<String>),
    Number(i64),
    Object(Vec<(&'static str, Out)>),
    /// A list; in XML each item is wrapped in `<item>` when given, else written bare
    /// (`<Groups><Id>…</Id><Id>…</Id></Groups>`, as seed 003 shows).
    List(Option<&'static str>, Vec<Out>),
}

impl Out {
    pub fn text(s: impl Into<String>) -> Self {
        Out::Text(Some(s.into()))
    }

    fn omitted(&self) -> bool {
        matches!(self, Out::Text(None))
    }

    pub fn to_json(&self) -> Value {
        match self {
            Out::Text(t) => t.clone().map_or(Value::Null, Value::String),
            Out::Number(n) => Value::from(*n),
            Out::Object(fields) => Value::Object(
                fields.iter().filter(|(_, v)| !v.omitted()).map(|(k, v)| ((*k).to_owned(), v.to_json())).collect(),
            ),
            Out::List(_, items) => Value::Array(items.iter().map(Out::to_json).collect()),
        }
    }

    /// Writes `<name>…</name>` for this value.
    pub fn to_xml(&self, name: &str, out: &mut String) {
        match self {
            Out::Text(None) => {}
            Out::Text(Some(t)) => {
                out.push_str(&format!("<{name}>{}</{name}>", escape(t.as_str())));
            }
            Out::Number(n) => out.push_str(&format!("<{name}>{n}</{name}>")),
            Out::Object(fields) => {
                out.push_str(&format!("<{name}>"));
                for (k, v) in fields {
                    v.to_xml(k, out);
                }
                out.push_str(&format!("</{name}>"));
            }
            Out::List(item, items) => {
                out.push_str(&format!("<{name}>"));
                for i in items {
                    match (item, i) {
                        (Some(item), _) => i.to_xml(item, out),
                        (None, Out::Object(fields)) => fields.iter().for_each(|(k, v)| v.to_xml(k, out)),
                        (None, other) => other.to_xml("Id", out),
                    }
                }
                out.push_str(&format!("</{name}>"));
            }
        }
    }

    /// A whole XML document with `root` as its element.
    pub fn xml_document(&self, root: &str) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
        self.to_xml(root, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_leaves_and_id_lists() {
        let (root, o) = parse(
            b"<?xml version=\"1.0\"?><User><Email>a&amp;b@x.io</Email><Groups><Id>g1</Id><Id>g2</Id></Groups>\
              <Folders><Folder><Id>f1</Id></Folder></Folders><LastName/></User>",
            &["User"],
        )
        .unwrap();
        assert_eq!(root, "User");
        assert_eq!(o["Email"], "a&b@x.io");
        assert_eq!(o["Groups"], serde_json::json!(["g1", "g2"]));
        assert_eq!(o["Folders"], serde_json::json!(["f1"]));
        assert_eq!(o["LastName"], "");
    }

    #[test]
    fn reads_the_payload_inside_a_request_wrapper() {
        let (root, o) = parse(
            b"<UserRequest><IntegrationKey>k</IntegrationKey><User><Email>a@b.co</Email></User></UserRequest>",
            &["User", "SUser"],
        )
        .unwrap();
        assert_eq!(root, "User");
        assert_eq!(o["Email"], "a@b.co");
        assert_eq!(o["IntegrationKey"], "k");
    }

    #[test]
    fn refuses_doctype_unknown_entities_depth_and_wrong_root() {
        assert!(parse(b"<!DOCTYPE User [<!ENTITY a \"b\">]><User/>", &["User"]).is_err());
        assert!(parse(b"<User><Email>&xxe;</Email></User>", &["User"]).is_err());
        let deep = format!("<User>{}{}</User>", "<a>".repeat(40), "</a>".repeat(40));
        assert!(parse(deep.as_bytes(), &["User"]).is_err());
        assert!(parse(b"<Other/>", &["User"]).is_err());
        assert!(parse(b"<Req><User/><User/></Req>", &["User"]).is_err());
        assert!(parse(b"<User><Email>x</User>", &["User"]).is_err());
    }

    #[test]
    fn refuses_many_attributes_quickly_and_ignores_duplicates() {
        let bomb = format!("<User {}/>", (0..40_000).map(|i| format!("a{i}=\"\"")).collect::<Vec<_>>().join(" "));
        let started = std::time::Instant::now();
        let err = parse(bomb.as_bytes(), &["User"]).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_millis(200), "took {:?}", started.elapsed());
        assert!(format!("{err:?}").contains("attributes"), "{err:?}");
        let (_, o) = parse(b"<User><Email a=\"1\" a=\"2\">x@y.io</Email></User>", &["User"]).unwrap();
        assert_eq!(o["Email"], "x@y.io");
    }

    #[test]
    fn writes_in_order_and_escapes() {
        let out = Out::Object(vec![
            ("User", Out::Object(vec![("Id", Out::text("1")), ("Status", Out::text("<Invited>"))])),
            ("ResponseStatus", Out::Object(vec![("ErrorCode", Out::Text(None))])),
        ]);
        assert_eq!(
            out.xml_document("UserResponse"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><UserResponse><User><Id>1</Id><Status>&lt;Invited&gt;</Status></User>\
             <ResponseStatus></ResponseStatus></UserResponse>"
        );
    }
}
