//! The patched Handlebars partials (`vendor/handlebars`, see its `PATCHED.md`, change 4):
//! a partial included as `{{> name …}}` gets its context as a path into the data where the
//! release copies it (merged with the include's hash), and must render exactly what the
//! copy renders. Handlebars still copies for a partial block (`{{#> name …}}{{/name}}`),
//! so every template below is rendered twice, as written and with each include turned into
//! an empty partial block, and the two renderings must be the same text or the same error:
//! over contexts (the root, `each` over objects, numbers and a helper's result, `with` on an
//! object, an array, a string and null, block parameters), include forms (no context, a context, a
//! hash of paths under the context and outside it, literals, `this`, `../`) and partial
//! bodies (names, hash keys, `each`, `if`, `with`, `lookup`, `this`, `../`, `@root`,
//! `@index`, nested includes, missing names), in strict mode, in the default mode and with
//! recursive lookup.

use handlebars::Handlebars;
use serde_json::json;

/// Where an include stands in the calling template.
const CONTEXTS: [&str; 10] = [
    "INCLUDE",
    "{{#with items}}INCLUDE{{/with}}",
    "{{#each items}}INCLUDE{{/each}}",
    "{{#each items as |it i|}}INCLUDE{{/each}}",
    "{{#with obj}}INCLUDE{{/with}}",
    "{{#each nums}}INCLUDE{{/each}}",
    "{{#with s}}INCLUDE{{/with}}",
    "{{#with nil}}INCLUDE{{else}}none{{/with}}",
    "{{#each (lookup obj \"list\")}}INCLUDE{{/each}}",
    "{{#with obj}}{{#each list}}INCLUDE{{/each}}{{/with}}",
];

/// How the partial `p` is included.
const INCLUDES: [&str; 11] = [
    "{{> p}}",
    "{{> p obj}}",
    "{{> p list=items}}",
    "{{> p list=obj.list x=\"lit\"}}",
    "{{> p obj list=@root.items}}",
    "{{> p list=../items}}",
    "{{> p name=\"given\"}}",
    "{{> p list=this}}",
    "{{> p n=1 list=nums}}",
    "{{~> p list=items ~}}",
    "{{> p items}}",
];

/// What the partial `p` is.
const BODIES: [&str; 27] = [
    "{{name}}",
    "{{this}}",
    "{{name}}-{{list.0.name}}",
    "{{#each list}}<{{name}}{{@index}}{{../name}}>{{/each}}",
    "{{#if list}}y{{else}}n{{/if}}",
    "{{#with list}}{{#each this}}{{name}}{{/each}}{{/with}}",
    "{{lookup list 0}}|{{lookup this \"name\"}}",
    "{{x}}{{n}}",
    "{{@index}}{{@first}}{{@key}}",
    "{{@root.name}}",
    "{{this.name}}/{{./name}}/{{this.list.0.name}}",
    "{{> q}}",
    "{{> q list}}",
    "{{> q list=list}}",
    "{{#each list}}{{> q}}{{/each}}",
    "{{it.name}}{{i}}",
    "{{#each list as |e|}}{{e.name}}{{/each}}",
    "{{../name}}",
    "{{#each this}}{{@key}}{{/each}}",
    "{{missing}}",
    "{{list.length}}",
    "{{#each list}}{{#with this}}{{name}}{{/with}}{{/each}}",
    "{{#if name}}{{name}}{{/if}}{{#unless x}}-{{/unless}}",
    "{{[0]}}{{[1].name}}",
    "{{length}}",
    "{{> w}}",
    "{{#each list}}{{> w}}{{/each}}",
];

/// The partials that `p` includes: `q` reads names, `w` the keys of its whole context.
const NESTED: &str = "[{{name}}{{#each list}}{{name}}{{/each}}{{x}}]";
const WHOLE: &str = "{{#each this}}{{@key}};{{/each}}";

/// A rendering: the text, or the error's reason and template.
type Rendered = Result<String, String>;

/// How the registry looks names up: strict mode, and recursive lookup (a name missing from
/// the context is looked for in the objects that enclose it).
#[derive(Debug, Clone, Copy)]
struct Lookup {
    strict: bool,
    recursive: bool,
}

const LOOKUPS: [Lookup; 3] = [
    Lookup {
        strict: true,
        recursive: false,
    },
    Lookup {
        strict: false,
        recursive: false,
    },
    Lookup {
        strict: false,
        recursive: true,
    },
];

fn render(lookup: Lookup, caller: &str, body: &str, blocks: bool) -> Rendered {
    let form = |t: &str| if blocks { as_blocks(t) } else { t.to_owned() };
    let mut registry = Handlebars::new();
    registry.set_strict_mode(lookup.strict);
    registry.set_recursive_lookup(lookup.recursive);
    registry
        .register_template_string("caller", form(caller))
        .expect("the caller compiles");
    registry
        .register_partial("p", form(body))
        .expect("the partial compiles");
    for (name, text) in [("q", NESTED), ("w", WHOLE)] {
        registry
            .register_partial(name, text)
            .expect("the nested partials compile");
    }
    let data = json!({
        "name": "root",
        "obj": {"name": "obj", "list": [{"name": "o1"}, {"name": "o2"}]},
        "items": [{"name": "a", "n": 1}, {"name": "b", "n": 2}],
        "nums": [1, 2],
        "s": "str",
        "nil": null,
    });
    registry
        .render("caller", &data)
        .map_err(|e| format!("{} in {:?}", e.reason(), e.template_name))
}

/// `template` with every `{{> name …}}` written as the empty partial block
/// `{{#> name …}}{{/name}}`, which Handlebars renders with a copy of its context.
fn as_blocks(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let tilde = if after.starts_with('~') { "~" } else { "" };
        let Some(include) = after[tilde.len()..].strip_prefix('>') else {
            out.push_str(&rest[..open + 2]);
            rest = after;
            continue;
        };
        let close = include.find("}}").expect("an include ends");
        let name = include[..close]
            .split_whitespace()
            .next()
            .expect("a partial name");
        out.push_str(&rest[..open]);
        out.push_str(&format!(
            "{{{{{tilde}#>{}}}}}{{{{/{name}}}}}",
            &include[..close]
        ));
        rest = &include[close + 2..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_rewriting_turns_includes_into_empty_partial_blocks() {
    assert_eq!(
        as_blocks("a{{> p list=x}}b{{~> q ~}}{{#if y}}{{/if}}{{>r}}"),
        "a{{#> p list=x}}{{/p}}b{{~#> q ~}}{{/q}}{{#if y}}{{/if}}{{#>r}}{{/r}}"
    );
}

#[test]
fn partials_given_their_context_by_path_render_as_with_a_copy() {
    let mut compared = 0;
    let mut rendered = 0;
    for lookup in LOOKUPS {
        for context in CONTEXTS {
            for include in INCLUDES {
                let caller = context.replace("INCLUDE", include);
                for body in BODIES {
                    let by_path = render(lookup, &caller, body, false);
                    let copied = render(lookup, &caller, body, true);
                    assert_eq!(
                        by_path, copied,
                        "{lookup:?}, caller {caller:?}, partial {body:?}"
                    );
                    compared += 1;
                    rendered += usize::from(by_path.is_ok());
                }
            }
        }
    }
    assert_eq!(
        compared,
        LOOKUPS.len() * CONTEXTS.len() * INCLUDES.len() * BODIES.len()
    );
    // Most combinations render: the comparison is of output, not only of errors.
    assert!(rendered * 2 > compared, "{rendered} of {compared} rendered");
}
