//! DynamoDB JSON handled as text, for handlers that run on every record:
//!
//! - [`top_level`] reads a few top-level attributes of an item without
//!   building a `serde_json::Value` tree: one pass over the text that checks
//!   it is valid JSON, skips the attributes nobody asked for, and hands back
//!   the wanted ones as slices of the input (`{"S":"Jane Doe"}`), ready to be
//!   pasted into a key or an expression value;
//! - [`Dynamodb::write`] joins a change record's `dynamodb` object from the
//!   JSON strings the event carries.
//!
//! This file depends on std, serde and serde_json only, on purpose:
//! `eddy bench invoke` compiles this same file natively for its native twin
//! of the score aggregator, so that both do exactly the same work.

use std::fmt::{self, Write as _};

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// The raw JSON of the top-level attributes `names` of the JSON object
/// `json`, in the order asked: `None` for an attribute the object lacks, and
/// for every name when `json` is valid JSON but not an object (as
/// `Value::get` answers). A name given twice in the object counts once, with
/// its last value, as `serde_json::Value` keeps it.
///
/// Errors: `json` is not valid JSON (the whole text is checked, not only up
/// to the attributes).
pub fn top_level<'j, const N: usize>(
    json: &'j str,
    names: [&str; N],
) -> Result<[Option<&'j RawValue>; N], serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let found = deserializer.deserialize_any(Wanted { names: &names })?;
    deserializer.end()?;
    Ok(found)
}

/// Visits the item, keeping the values of `names`.
struct Wanted<'n, const N: usize> {
    names: &'n [&'n str; N],
}

impl<'de, const N: usize> Visitor<'de> for Wanted<'_, N> {
    type Value = [Option<&'de RawValue>; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = [None; N];
        while let Some(index) = map.next_key_seed(Position { names: self.names })? {
            match index.and_then(|i| found.get_mut(i)) {
                Some(slot) => *slot = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }

    // Anything but an object has no attributes; it is still read to the end
    // so that invalid JSON inside it is an error.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok([None; N])
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok([None; N])
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok([None; N])
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok([None; N])
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok([None; N])
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok([None; N])
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok([None; N])
    }
}

/// Reads an attribute name and answers its position in `names`, comparing
/// the name in place (escaped names are compared unescaped) without copying it.
struct Position<'n, const N: usize> {
    names: &'n [&'n str; N],
}

impl<'de, const N: usize> DeserializeSeed<'de> for Position<'_, N> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Position<'_, N> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an attribute name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.names.iter().position(|wanted| *wanted == name))
    }
}

/// The fields of a change record's `dynamodb` object, as Lambda shows it
/// (what the lab logs with `console.log("DynamoDB Record: %j", record.dynamodb)`).
/// Keys and images are DynamoDB JSON text as eddy hands them over.
#[derive(Debug, Clone, Copy)]
pub struct Dynamodb<'a> {
    /// ApproximateCreationDateTime, in seconds since the Unix epoch.
    pub approximate_creation_time: u64,
    /// Keys.
    pub keys: &'a str,
    /// NewImage, if the record has one.
    pub new_image: Option<&'a str>,
    /// OldImage, if the record has one.
    pub old_image: Option<&'a str>,
    /// SequenceNumber.
    pub sequence_number: &'a str,
    /// SizeBytes.
    pub size_bytes: u64,
    /// StreamViewType.
    pub view_type: &'a str,
}

impl Dynamodb<'_> {
    /// Appends the object to `out` as compact JSON, fields in Lambda's order,
    /// absent images left out. Keys and images are pasted in as they are:
    /// eddy serialises them itself (compact serde_json), so they need no
    /// parsing and come out exactly as a parse and re-serialisation would
    /// print them.
    pub fn write(&self, out: &mut String) {
        out.push_str("{\"ApproximateCreationDateTime\":");
        push_number(out, self.approximate_creation_time);
        out.push_str(",\"Keys\":");
        out.push_str(self.keys);
        if let Some(image) = self.new_image {
            out.push_str(",\"NewImage\":");
            out.push_str(image);
        }
        if let Some(image) = self.old_image {
            out.push_str(",\"OldImage\":");
            out.push_str(image);
        }
        out.push_str(",\"SequenceNumber\":");
        push_string(out, self.sequence_number);
        out.push_str(",\"SizeBytes\":");
        push_number(out, self.size_bytes);
        out.push_str(",\"StreamViewType\":");
        push_string(out, self.view_type);
        out.push('}');
    }
}

fn push_number(out: &mut String, n: u64) {
    // Writing into a String cannot fail.
    let _ = write!(out, "{n}");
}

/// Appends `text` as a JSON string: copied as is when nothing in it needs
/// escaping (sequence numbers, view types), else escaped by serde_json.
fn push_string(out: &mut String, text: &str) {
    let plain = text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&Value::from(text).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<const N: usize>(found: [Option<&RawValue>; N]) -> [Option<&str>; N] {
        found.map(|raw| raw.map(RawValue::get))
    }

    #[test]
    fn wanted_attributes_come_back_verbatim_in_the_order_asked() {
        let item = r#"{"RecordID":{"N":"2"},"Username":{"S":"Jane Doe"},"Score":{"N":"100"},"Tags":{"SS":["a","b"]}}"#;
        let found = top_level(item, ["Score", "Username", "Missing"]).unwrap();
        assert_eq!(
            texts(found),
            [Some(r#"{"N":"100"}"#), Some(r#"{"S":"Jane Doe"}"#), None]
        );
    }

    #[test]
    fn escaped_names_match_and_the_last_duplicate_wins() {
        let item = r#"{"User\u006eame":{"S":"a"},"Username":{"S":"b"}}"#;
        assert_eq!(
            texts(top_level(item, ["Username"]).unwrap()),
            [Some(r#"{"S":"b"}"#)]
        );
    }

    #[test]
    fn values_that_are_not_objects_have_no_attributes() {
        for json in [
            "null",
            "1",
            "-1",
            "1.5",
            "true",
            r#""text""#,
            r#"[{"Username":1}]"#,
        ] {
            assert_eq!(
                texts(top_level(json, ["Username"]).unwrap()),
                [None],
                "{json}"
            );
        }
    }

    #[test]
    fn invalid_json_is_an_error_even_after_the_wanted_attributes() {
        assert!(top_level(r#"{"Username":{"S":"a"},"x":}"#, ["Username"]).is_err());
        assert!(top_level(r#"{"Username":{"S":"a"}} trailing"#, ["Username"]).is_err());
        assert!(top_level("[1,", ["Username"]).is_err());
        assert!(top_level("", ["Username"]).is_err());
    }

    fn dynamodb<'a>(new_image: Option<&'a str>, old_image: Option<&'a str>) -> Dynamodb<'a> {
        Dynamodb {
            approximate_creation_time: 1_700_000_000,
            keys: r#"{"RecordID":{"N":"1"}}"#,
            new_image,
            old_image,
            sequence_number: "100",
            size_bytes: 26,
            view_type: "NEW_IMAGE",
        }
    }

    fn joined(fields: &Dynamodb) -> String {
        let mut out = String::new();
        fields.write(&mut out);
        out
    }

    /// The object built the slow way: every field parsed and re-serialised.
    fn reparsed(fields: &Dynamodb) -> String {
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        let mut object = serde_json::Map::new();
        let time = fields.approximate_creation_time;
        object.insert("ApproximateCreationDateTime".into(), time.into());
        object.insert("Keys".into(), parse(fields.keys));
        if let Some(image) = fields.new_image {
            object.insert("NewImage".into(), parse(image));
        }
        if let Some(image) = fields.old_image {
            object.insert("OldImage".into(), parse(image));
        }
        object.insert("SequenceNumber".into(), fields.sequence_number.into());
        object.insert("SizeBytes".into(), fields.size_bytes.into());
        object.insert("StreamViewType".into(), fields.view_type.into());
        Value::Object(object).to_string()
    }

    #[test]
    fn dynamodb_keeps_the_image_order_and_skips_absent_images() {
        let image = r#"{"Username":{"S":"Jane Doe"},"Score":{"N":"100"}}"#;
        assert_eq!(
            joined(&dynamodb(Some(image), None)),
            concat!(
                r#"{"ApproximateCreationDateTime":1700000000,"Keys":{"RecordID":{"N":"1"}},"#,
                r#""NewImage":{"Username":{"S":"Jane Doe"},"Score":{"N":"100"}},"#,
                r#""SequenceNumber":"100","SizeBytes":26,"StreamViewType":"NEW_IMAGE"}"#
            )
        );
    }

    #[test]
    fn joined_dynamodb_is_what_a_parse_and_reserialisation_prints() {
        let image = serde_json::json!({
            "Username": {"S": "Zoë \"the\" \\ best\n"},
            "Score": {"N": "-1.5E+3"},
            "Tags": {"L": [{"BOOL": true}, {"NULL": true}]},
        })
        .to_string();
        let mut fields = dynamodb(Some(&image), Some(r#"{"Score":{"N":"1"}}"#));
        fields.sequence_number = "odd \"seq\"\u{1}";
        fields.approximate_creation_time = u64::MAX;
        for view_type in ["NEW_AND_OLD_IMAGES", "weird\tview", ""] {
            fields.view_type = view_type;
            let text = joined(&fields);
            assert_eq!(text, reparsed(&fields));
            serde_json::from_str::<Value>(&text).unwrap();
        }
        let keys_only = Dynamodb {
            keys: "{}",
            ..dynamodb(None, None)
        };
        assert_eq!(joined(&keys_only), reparsed(&keys_only));
    }
}
