//! Handlebars pages, embedded in the binary (`templates/`), HTML-escaped by default, with a few
//! helpers for dates, distances and money in the words people use.

use std::sync::Arc;

use handlebars::Handlebars;
use rust_embed::RustEmbed;
use serde::Serialize;

/// `templates/`: `layouts/`, `partials/`, `pages/` (`*.hbs`) and `static/`.
#[derive(RustEmbed)]
#[folder = "../templates/"]
pub struct TemplateFiles;

/// Why a page could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A template did not compile.
    #[error("template {name}: {message}")]
    Compile {
        /// The template.
        name: String,
        /// The compiler's message.
        message: String,
    },
    /// Rendering failed.
    #[error("render: {0}")]
    Render(#[from] handlebars::RenderError),
}

impl From<TemplateError> for crate::error::AppError {
    fn from(e: TemplateError) -> Self {
        crate::error::AppError::Internal(e.to_string())
    }
}

mod helpers {
    //! Template helpers (the macro makes public unit structs that cannot carry docs).
    #![allow(missing_docs)]

    use chrono::NaiveDateTime;
    use handlebars::handlebars_helper;

    handlebars_helper!(date: |value: str| {
        NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|d| d.format("%-d %B %Y").to_string())
            .unwrap_or_else(|_| value.to_string())
    });
    handlebars_helper!(when: |value: str| {
        NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|d| d.format("%A %-d %B, %H:%M").to_string())
            .unwrap_or_else(|_| value.to_string())
    });
    handlebars_helper!(km: |value: f64| format!("{value:.1} km"));
    handlebars_helper!(pounds: |value: f64| if value <= 0.0 { "Free".to_string() } else { format!("£{value:.2}") });
    handlebars_helper!(eq: |a: Json, b: Json| a == b);
    handlebars_helper!(contains: |list: Json, item: Json| list.as_array().is_some_and(|l| l.contains(item)));
    handlebars_helper!(humanise: |value: str| {
        let text = value.replace('_', " ");
        let mut chars = text.chars();
        chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
    });
}

/// The compiled templates.
#[derive(Debug)]
pub struct Templates {
    registry: Handlebars<'static>,
    reload: bool,
}

impl Templates {
    /// Compiles every template; `reload` recompiles from disk before each render (development).
    pub fn load(reload: bool) -> Result<Arc<Self>, TemplateError> {
        Ok(Arc::new(Self {
            registry: Self::compile()?,
            reload,
        }))
    }

    fn compile() -> Result<Handlebars<'static>, TemplateError> {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(false);
        hb.register_helper("date", Box::new(helpers::date));
        hb.register_helper("when", Box::new(helpers::when));
        hb.register_helper("km", Box::new(helpers::km));
        hb.register_helper("pounds", Box::new(helpers::pounds));
        hb.register_helper("eq", Box::new(helpers::eq));
        hb.register_helper("contains", Box::new(helpers::contains));
        hb.register_helper("humanise", Box::new(helpers::humanise));
        for path in TemplateFiles::iter() {
            let Some(name) = path.strip_suffix(".hbs") else {
                continue;
            };
            let file = TemplateFiles::get(&path).ok_or_else(|| TemplateError::Compile {
                name: name.into(),
                message: "missing".into(),
            })?;
            let text = String::from_utf8_lossy(&file.data).into_owned();
            hb.register_template_string(name, text)
                .map_err(|e| TemplateError::Compile {
                    name: name.into(),
                    message: e.to_string(),
                })?;
        }
        Ok(hb)
    }

    /// Renders a page template (`pages/NAME`).
    pub fn render<T: Serialize>(&self, name: &str, context: &T) -> Result<String, TemplateError> {
        if self.reload {
            return Ok(Self::compile()?.render(name, context)?);
        }
        Ok(self.registry.render(name, context)?)
    }

    /// Names of every page template (for the test that renders them all).
    pub fn page_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .registry
            .get_templates()
            .keys()
            .filter(|k| k.starts_with("pages/"))
            .cloned()
            .collect();
        names.sort();
        names
    }
}

/// A static file (`templates/static/NAME`) with its content type.
pub fn static_file(name: &str) -> Option<(Vec<u8>, &'static str)> {
    let file = TemplateFiles::get(&format!("static/{name}"))?;
    let content_type = match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    Some((file.data.into_owned(), content_type))
}
