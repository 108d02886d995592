use super::*;

/// Formats `input`, checks the result is a fixed point and keeps every
/// comment, and returns it.
fn fmt(input: &str) -> String {
    let output = format(input).unwrap_or_else(|e| panic!("{e:?}\ninput:\n{input}"));
    assert_eq!(
        format(&output).unwrap(),
        output,
        "formatting twice changed the text"
    );
    assert_eq!(comments(input), comments(&output), "comments differ");
    output
}

#[test]
fn indents_four_spaces_per_level_and_single_spaces() {
    let input = "pipeline   a{\n  source  file \"x.csv\"   {\n\t\tformat   csv   delimiter = \";\"\n  }\nkey id\n}";
    let expected = "pipeline a {\n    source file \"x.csv\" {\n        format csv delimiter=\";\"\n    }\n    key id\n}\n";
    assert_eq!(fmt(input), expected);
}

#[test]
fn semicolon_separated_nodes_go_on_their_own_lines() {
    assert_eq!(fmt("a 1; b 2;\nc;"), "a 1\nb 2\nc\n");
    assert_eq!(
        fmt("pipeline p {\n    key id; schema \"s.json\"\n}"),
        "pipeline p {\n    key id\n    schema \"s.json\"\n}\n"
    );
}

#[test]
fn one_line_block_of_leaves_stays_on_one_line() {
    assert_eq!(
        fmt("integrity {min-ratio 0.95 ;   max-removed \"2%\";}"),
        "integrity { min-ratio 0.95; max-removed \"2%\" }\n"
    );
    assert_eq!(
        fmt("email \"e\" required=#true {trim;lowercase}"),
        "email \"e\" required=#true { trim; lowercase }\n"
    );
    assert_eq!(fmt("node {   }"), "node {}\n");
}

#[test]
fn slashdashed_leaf_may_stay_in_a_one_line_block() {
    assert_eq!(fmt("e { trim; /-lowercase }"), "e { trim; /-lowercase }\n");
}

#[test]
fn one_line_block_with_nested_children_expands() {
    assert_eq!(
        fmt("map { email \"e\" { trim }; name \"n\" }"),
        "map {\n    email \"e\" { trim }\n    name \"n\"\n}\n"
    );
}

#[test]
fn one_line_block_with_a_comment_expands() {
    assert_eq!(
        fmt("e { trim /* why */; lowercase }"),
        "e {\n    trim /* why */\n    lowercase\n}\n"
    );
}

#[test]
fn block_written_on_several_lines_stays_on_several_lines() {
    assert_eq!(
        fmt("integrity {\n min-ratio 0.95\n}"),
        "integrity {\n    min-ratio 0.95\n}\n"
    );
    assert_eq!(fmt("node {\n}"), "node {\n}\n");
}

#[test]
fn blank_lines_kept_once_and_trimmed_at_edges() {
    let input = "\n\n\na\n\n\n\nb\nc\n\nd {\n\n  x\n\n\n  y\n\n}\n\n\n";
    assert_eq!(fmt(input), "a\n\nb\nc\n\nd {\n    x\n\n    y\n}\n");
}

#[test]
fn values_are_printed_as_written() {
    let input = concat!(
        "n 0x1F 1_000 1.50e3 -0 #true #false #null #inf #-inf #nan",
        " bare \"quoted \\\"q\\\"\" #\"raw \"quote\"\"# (env)\"NAME\" (u8)7\n",
        "m key=(env)\"X\" raw=##\"a\"#b\"## \"quoted key\"=1\n",
    );
    assert_eq!(fmt(input), input);
}

#[test]
fn spaces_inside_types_and_properties_are_removed() {
    assert_eq!(
        fmt("source s3 bucket = ( env ) \"B\" ( t ) x"),
        "source s3 bucket=(env)\"B\" (t)x\n"
    );
}

#[test]
fn multi_line_strings_are_kept_verbatim() {
    let input = "description \"\"\"\n      line one  \n    line two\n    \"\"\"\nnext #\"\"\"\n  raw\n  \"\"\"#\n";
    assert_eq!(fmt(input), input);
}

#[test]
fn end_of_line_comments_stay_on_their_line() {
    let input = "a 1 // after a node\nb { // after a brace\n  c // in a block\n} // after a brace\nd; // after a semicolon\n";
    let expected = "a 1 // after a node\nb { // after a brace\n    c // in a block\n} // after a brace\nd // after a semicolon\n";
    assert_eq!(fmt(input), expected);
}

#[test]
fn own_line_comments_are_indented_with_their_block() {
    let input = "// top\na {\n// first\n  b\n      // before the brace\n}\n";
    let expected = "// top\na {\n    // first\n    b\n    // before the brace\n}\n";
    assert_eq!(fmt(input), expected);
}

#[test]
fn block_comments_inside_a_node_line_are_kept_in_place() {
    assert_eq!(
        fmt("a  /*one*/  1   /* two */ k=v /*three*/"),
        "a /*one*/ 1 /* two */ k=v /*three*/\n"
    );
    assert_eq!(fmt("/* lead */ a 1"), "/* lead */ a 1\n");
}

#[test]
fn multi_line_and_nested_block_comments_are_verbatim() {
    let input = "a {\n  /* one\n     two /* nested */\n  three */\n  b\n}\n";
    let expected = "a {\n    /* one\n     two /* nested */\n  three */\n    b\n}\n";
    assert_eq!(fmt(input), expected);
}

#[test]
fn slashdashes_keep_their_items() {
    let input = "/-  old 1 {\nx\n}\na /- 1 2 /-k=v /- {\n y\n}\nb /-{ gone } { kept }\n";
    let expected = "/-old 1 {\n    x\n}\na /-1 2 /-k=v /-{\n    y\n}\nb /-{ gone } { kept }\n";
    assert_eq!(fmt(input), expected);
}

#[test]
fn line_continuations_are_kept_and_indented() {
    let input = "upload sftp \\\n        host=h \\ // the host\n   user=u\nnext\n";
    let expected = "upload sftp \\\n    host=h \\ // the host\n    user=u\nnext\n";
    assert_eq!(fmt(input), expected);
}

#[test]
fn a_continuation_that_continues_nothing_is_dropped() {
    assert_eq!(fmt("a 1 \\\n\nb"), "a 1\n\nb\n");
    assert_eq!(fmt("a 1 \\ // note\n\nb"), "a 1 // note\n\nb\n");
}

#[test]
fn trailing_white_space_goes_and_one_newline_ends_the_file() {
    assert_eq!(fmt("a 1   \t\nb // c   "), "a 1\nb // c\n");
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n"), "");
}

#[test]
fn crlf_becomes_lf() {
    assert_eq!(
        fmt("a {\r\n  b /* x\r\n y */\r\n}\r\n"),
        "a {\n    b /* x\n y */\n}\n"
    );
}

#[test]
fn byte_order_mark_is_kept() {
    assert_eq!(fmt("\u{FEFF}a  1"), "\u{FEFF}a 1\n");
}

#[test]
fn syntax_error_is_a_syntax_diagnostic_with_the_file_name() {
    let err = format_source("bad.kdl", "pipeline a {\n  key x\n").unwrap_err();
    let FormatError::Syntax(SyntaxErrors { errors }) = &err else {
        panic!("expected a syntax error, got {err:?}");
    };
    let code = miette::Diagnostic::code(&err).map(|c| c.to_string());
    assert_eq!(code.as_deref(), Some("rollcall::syntax"));
    assert_eq!(errors[0].file.as_ref().unwrap().name(), "bad.kdl");
    let labels: Vec<_> = miette::Diagnostic::labels(&err).unwrap().collect();
    assert_eq!(
        labels[0].offset(),
        11,
        "the error points at the unclosed `{{`"
    );
}

#[test]
fn same_document_ignores_layout_and_comments_but_not_values() {
    assert!(same_document("a 1 k=v { b }", "// c\na  1   k=v {\n b\n}"));
    assert!(same_document("a 0x10", "a 16"));
    assert!(!same_document("a 1", "a 2"));
    assert!(!same_document("a 1", "a \"1\""));
    assert!(!same_document("a k=v", "a v"));
    assert!(!same_document("a (t)1", "a 1"));
    assert!(!same_document("a { b }", "a; b"));
    assert!(!same_document("a", "a {}"));
}

#[test]
fn without_slashdashes_makes_commented_items_live() {
    assert_eq!(
        without_slashdashes("/- a\nb /-  1 /-{ c }").unwrap(),
        "a\nb 1 { c }"
    );
}

#[test]
fn slashdashed_items_survive_formatting() {
    let input = "/-  old 1 {\nx\n}\na /- 1 2 /-k=v /- {\n y\n}\n";
    let output = fmt(input);
    assert!(same_document(
        &without_slashdashes(input).unwrap(),
        &without_slashdashes(&output).unwrap()
    ));
}

#[test]
fn language_reference_example_is_already_canonical() {
    let example = r#"// pipelines/staff-sso.kdl
pipeline staff-sso {
    description "Staff SSO users, delivered twice a day by Data Flow"
    source s3 bucket=(env)"JML_BUCKET" prefix="data-flow-exports/StaffSSOUsersPipeline/" {
        key-pattern "{timestamp}/full_ingestion.jsonl.gz"
        pick newest
        format jsonl
        record "object"
    }
    schema "../schemas/staff-sso-record.schema.json"
    key user_id
    map {
        user_id "dit:StaffSSO:User:userId" required=#true
        email "dit:StaffSSO:User:emailUserId" required=#true { trim; lowercase }
        last_name "dit:lastName"
    }
    integrity { min-ratio 0.95; max-removed "2%" }
}
"#;
    assert_eq!(fmt(example), example);
}

#[test]
fn a_continuation_before_children_is_kept() {
    assert_eq!(fmt("a 1 \\ // why\n{ b }"), "a 1 \\ // why\n    { b }\n");
    assert_eq!(fmt("a 1 \\\n  { b }"), "a 1 { b }\n");
}

#[test]
fn odd_but_valid_comment_places_are_kept() {
    // Comments between `/-` and its item, inside a type annotation, around
    // `=`, and a continuation between nodes.
    let input = "/- /* why */ a\nb /- // gone\n  1\nc ( /* t */ u8 )1 k /* x */ = /* y */ v\n\\ // between\nd\n";
    let output = fmt(input);
    assert!(same_document(input, &output));
    assert_eq!(
        output,
        "/- /* why */ a\nb /- // gone\n    1\nc ( /* t */ u8)1 k /* x */ = /* y */ v\n// between\nd\n"
    );
}

#[test]
fn continuation_after_slashdash_is_joined() {
    assert_eq!(fmt("node /-    \\\n    arg"), "node /-arg\n");
    assert_eq!(fmt("/-\\\nnode1\nnode2"), "/-node1\nnode2\n");
    assert_eq!(
        fmt("node arg1 /-\\ // why\n{\n}"),
        "node arg1 /- // why\n    {\n}\n"
    );
}
