//! `template=` origins: text with `{field}` replaced by earlier mapped fields.

use rollcall_model::{Template, TemplatePart};
use serde_json::Value;

use super::error::CompileError;
use super::text::value_text;

/// A template with its field references resolved to field indexes.
#[derive(Debug)]
pub(crate) struct Compiled {
    parts: Vec<Part>,
}

#[derive(Debug)]
enum Part {
    Text(String),
    Field(usize),
}

impl Compiled {
    /// Resolves each `{name}` against `earlier`, the fields declared before
    /// `field`, so rendering is an index per part.
    pub(crate) fn compile(
        template: &Template,
        earlier: &[String],
        field: &str,
    ) -> Result<Self, CompileError> {
        let parts = template
            .parts
            .iter()
            .map(|part| match part {
                TemplatePart::Text(text) => Ok(Part::Text(text.clone())),
                TemplatePart::Field(name) => earlier
                    .iter()
                    .rposition(|earlier| earlier == name)
                    .map(Part::Field)
                    .ok_or_else(|| CompileError::TemplateField {
                        field: field.to_owned(),
                        reference: name.clone(),
                    }),
            })
            .collect::<Result<_, _>>()?;
        Ok(Compiled { parts })
    }

    /// Renders over the values mapped so far. A null field renders as
    /// nothing; when every field it names is null the result is null, so a
    /// template over absent data counts as missing (for `default` and
    /// `required`) rather than as literal punctuation like `" "`.
    pub(crate) fn render(&self, values: &[Value]) -> Value {
        let mut any_field = false;
        let mut any_value = false;
        let mut text = String::new();
        for part in &self.parts {
            match part {
                Part::Text(literal) => text.push_str(literal),
                Part::Field(index) => {
                    any_field = true;
                    let value = &values[*index];
                    if !value.is_null() {
                        any_value = true;
                        text.push_str(&value_text(value));
                    }
                }
            }
        }
        if any_field && !any_value {
            Value::Null
        } else {
            Value::String(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(parts: Vec<TemplatePart>) -> Template {
        Template {
            text: String::new(),
            parts,
        }
    }

    fn field(name: &str) -> TemplatePart {
        TemplatePart::Field(name.to_owned())
    }

    fn text(literal: &str) -> TemplatePart {
        TemplatePart::Text(literal.to_owned())
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn renders_earlier_fields_and_text() {
        let display = template(vec![
            field("first"),
            text(" "),
            field("last"),
            text(" ("),
            field("id"),
            text(")"),
        ]);
        let compiled =
            Compiled::compile(&display, &names(&["first", "last", "id"]), "display").unwrap();
        assert_eq!(
            compiled.render(&[json!("Ada"), json!("Lovelace"), json!(7)]),
            json!("Ada Lovelace (7)")
        );
    }

    #[test]
    fn null_fields_render_empty_and_all_null_is_null() {
        let display = template(vec![field("first"), text(" "), field("last")]);
        let compiled = Compiled::compile(&display, &names(&["first", "last"]), "display").unwrap();
        assert_eq!(
            compiled.render(&[Value::Null, json!("Lovelace")]),
            json!(" Lovelace")
        );
        assert_eq!(compiled.render(&[Value::Null, Value::Null]), Value::Null);
    }

    #[test]
    fn text_only_template_is_its_text() {
        let fixed = template(vec![text("staff")]);
        let compiled = Compiled::compile(&fixed, &[], "kind").unwrap();
        assert_eq!(compiled.render(&[]), json!("staff"));
    }

    #[test]
    fn unknown_or_later_field_is_a_compile_error() {
        let display = template(vec![field("last")]);
        let error = Compiled::compile(&display, &names(&["first"]), "display").unwrap_err();
        assert!(
            matches!(error, CompileError::TemplateField { ref reference, .. } if reference == "last")
        );
    }
}
