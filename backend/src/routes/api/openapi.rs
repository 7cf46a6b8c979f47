//! `GET /api/v1/openapi.json`: an OpenAPI 3.0 document of the whole API, generated from the
//! route table that also wires the routes, so a route cannot exist without being documented
//! (and a documented route cannot be missing). Query parameters are listed for the routes that
//! take them; every error answer has the one JSON error shape.

use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use crate::directory::search::{MAX_PER_PAGE, MAX_RADIUS_KM};
use crate::routes::{RouteSpec, API_ROUTES};

fn query(name: &str, kind: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": kind, "description": description})
}

fn text() -> Value {
    json!({"type": "string"})
}

fn date() -> Value {
    json!({"type": "string", "format": "date"})
}

fn int(min: i64) -> Value {
    json!({"type": "integer", "minimum": min})
}

/// The directory search's parameters (public search and the search inside a referral).
fn search_parameters(with_place: bool) -> Vec<Value> {
    let mut list = vec![query("q", text(), "Words, e.g. `walking group for older men`")];
    if with_place {
        list.push(query("near", text(), "A postcode, outward code or place"));
        list.push(query("lat", json!({"type": "number", "minimum": -90, "maximum": 90}), "Latitude (with `lon`)"));
        list.push(query("lon", json!({"type": "number", "minimum": -180, "maximum": 180}), "Longitude (with `lat`)"));
    }
    list.extend([
        query(
            "radius_km",
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": MAX_RADIUS_KM}),
            "Within this distance (km)",
        ),
        query("category", text(), "Category slugs, comma-separated or repeated"),
        query("audience", text(), "Audience slugs"),
        query("accessibility", text(), "Accessibility feature slugs"),
        query("cost", json!({"type": "string", "enum": ["free"]}), "Only free listings"),
        query("day", text(), "Days the listing meets (MO, TU, ...)"),
        query("attendance", text(), "in_person, online, phone"),
        query("capacity", text(), "accepting, waitlist, full, paused"),
        query("sort", json!({"type": "string", "enum": ["relevance", "distance", "last_verified", "name"]}), "Order"),
        query("page", int(1), "Page, from 1"),
        query("per_page", json!({"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}), "Results per page"),
    ]);
    if with_place {
        list.push(query(
            "explain",
            json!({"type": "string", "enum": ["1", "true", "yes"]}),
            "Admins only (anyone else gets 403): each result carries `explain`, why it ranks where it does",
        ));
    }
    list
}

fn query_parameters(spec: &RouteSpec) -> Vec<Value> {
    match (spec.method, spec.path) {
        ("get", "/services") => search_parameters(true),
        ("get", "/referrals/{id}/search") => search_parameters(false),
        ("get", "/geocode") => {
            vec![
                json!({"name": "q", "in": "query", "required": true, "schema": text(), "description": "Postcode or place"}),
            ]
        }
        ("get", "/referrals") => vec![
            query("status", text(), "A referral status"),
            query("owner", text(), "A user id, or `none` for unassigned"),
            query("practice", json!({"type": "string", "format": "uuid"}), "A practice"),
            query("reason", text(), "A referral reason slug"),
            query("urgency", json!({"type": "string", "enum": ["routine", "soon", "urgent"]}), "Urgency"),
            query("view", json!({"type": "string", "enum": ["needs_attention"]}), "Only those needing attention"),
        ],
        ("get", "/my/listings") => {
            vec![query("view", json!({"type": "string", "enum": ["needs_review"]}), "Only those due for review")]
        }
        ("get", "/admin/audit") => vec![
            query("action", text(), "Actions starting with this"),
            query("actor", text(), "A user id"),
            query("record", text(), "A record id"),
            query("outcome", json!({"type": "string", "enum": ["ok", "denied", "failed"]}), "Outcome"),
            query("limit", json!({"type": "integer", "minimum": 1, "maximum": 500}), "How many"),
            query("offset", int(0), "Skip this many"),
        ],
        ("get", "/data-rights/subject-access") => vec![
            query("nhs_number", text(), "The person's NHS number (or give the three below)"),
            query("given_name", text(), "Given name, with family name and date of birth"),
            query("family_name", text(), "Family name"),
            query("date_of_birth", date(), "Date of birth"),
        ],
        ("get", "/reports/{name}") => vec![
            query("from", date(), "First day (default: a year before `to`)"),
            query("to", date(), "Last day (default: today); at most 5 years after `from`"),
            query("practice", json!({"type": "string", "format": "uuid"}), "Only this practice's referrals"),
            query("format", json!({"type": "string", "enum": ["json", "csv"]}), "Answer as JSON (default) or CSV"),
        ],
        _ => Vec::new(),
    }
}

fn path_parameters(spec: &RouteSpec) -> Vec<Value> {
    spec.path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let schema = if name == "name" {
                json!({"type": "string", "enum": crate::reports::REPORTS.iter().map(|(n, _)| *n).collect::<Vec<_>>()})
            } else {
                json!({"type": "string", "format": "uuid"})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect()
}

fn success_content(spec: &RouteSpec) -> Value {
    let json_body = json!({"application/json": {"schema": {"type": "object"}}});
    if spec.method == "get" && matches!(spec.path, "/services" | "/referrals/{id}/search") {
        json!({"application/json": {"schema": {"$ref": "#/components/schemas/SearchAnswer"}}})
    } else if spec.path.ends_with(".csv") {
        json!({"text/csv": {"schema": {"type": "string"}}})
    } else if spec.path.ends_with("/fhir") || spec.path.ends_with("/fhir/care-plan") {
        json!({"application/fhir+json": {"schema": {"type": "object"}}})
    } else if spec.path == "/reports/{name}" {
        let mut both = json_body;
        both["text/csv"] = json!({"schema": {"type": "string"}});
        both
    } else {
        json_body
    }
}

fn operation(spec: &RouteSpec) -> Value {
    let anyone = spec.access.starts_with("anyone");
    let mut responses = Map::new();
    responses.insert("2XX".into(), json!({"description": "Done", "content": success_content(spec)}));
    let mut errors = vec!["400", "404", "422", "429"];
    if !anyone {
        errors.extend(["401", "403"]);
    }
    if matches!(spec.method, "post" | "put" | "patch") {
        errors.extend(["409", "413"]);
    }
    errors.sort_unstable();
    for code in errors {
        responses.insert(code.into(), json!({"$ref": "#/components/responses/Error"}));
    }
    let tag = spec.path.trim_start_matches('/').split('/').next().unwrap_or("api");
    let operation_id: String = format!("{}{}", spec.method, spec.path)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let mut op = json!({
        "operationId": operation_id,
        "summary": spec.summary,
        "description": format!("Who may call it: {}.", spec.access),
        "tags": [tag],
        "responses": responses,
        "security": if anyone { json!([]) } else { json!([{"bearer": []}]) },
    });
    let mut parameters = path_parameters(spec);
    parameters.extend(query_parameters(spec));
    if !parameters.is_empty() {
        op["parameters"] = json!(parameters);
    }
    if matches!(spec.method, "post" | "put" | "patch") {
        op["requestBody"] = json!({
            "required": false,
            "content": {"application/json": {"schema": {"type": "object"}}}
        });
    }
    op
}

/// What a directory search answers (`directory::search::SearchOutcome`).
fn search_answer() -> Value {
    let count = json!({"type": "integer", "minimum": 0});
    json!({
        "type": "object",
        "required": ["text", "total", "page", "per_page", "pages", "results", "facets", "match_strength", "close_total"],
        "properties": {
            "text": {"type": "string", "description": "The words searched for, without a place taken from them"},
            "total": count,
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "pages": count,
            "origin": {
                "type": "object",
                "nullable": true,
                "description": "Where distances are measured from, and the radius (km)",
                "properties": {"radius_km": {"type": "number"}},
                "additionalProperties": true
            },
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/SearchResult"}},
            "facets": {
                "type": "object",
                "description": "Per filter dimension, each value with its name and count for this search",
                "additionalProperties": {"type": "array", "items": {
                    "type": "object",
                    "required": ["value", "name", "count"],
                    "properties": {"value": {"type": "string"}, "name": {"type": "string"}, "count": count}
                }}
            },
            "help": {
                "allOf": [{"$ref": "#/components/schemas/SearchHelp"}],
                "nullable": true,
                "description": "Set when nothing was found, or when nothing found fits closely"
            },
            "match_strength": {
                "type": "string",
                "enum": ["close", "weak", "none"],
                "description": "`close`: some listing fits the words closely (or no words were given); `weak`: \
                                listings match only part of them; `none`: nothing matches"
            },
            "close_total": {
                "type": "integer",
                "minimum": 0,
                "description": "How many of `total` fit the words closely"
            },
            "notice": {
                "type": "string",
                "nullable": true,
                "description": "For people, when the matches are weak: \"Nothing close matches ‘stop smoking’; ...\""
            }
        }
    })
}

/// One search result: the listing in full (its fields at the top level) and how it matched.
fn search_result() -> Value {
    json!({
        "type": "object",
        "required": ["id", "name", "fit"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string"},
            "distance_km": {"type": "number", "nullable": true, "description": "Km to the nearest location"},
            "covers": {
                "type": "string",
                "description": "Set when the listing is found because its area covers the place, not a venue within \
                                the radius: \"covers GL5\", \"home visits within 10 km\", \"online\" (no distance)"
            },
            "service_areas": {
                "type": "array",
                "description": "Where else it is offered",
                "items": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "enum": ["postcode_district", "county", "online", "national", "home_visits"]},
                        "value": {"type": "string"},
                        "radius_km": {"type": "number"},
                        "label": {"type": "string"}
                    }
                }
            },
            "snippet_html": {"type": "string", "nullable": true, "description": "Matched words in <b>, escaped otherwise"},
            "fit": {
                "type": "string",
                "enum": ["close", "partial"],
                "description": "`close`: covers the need (at least half of it); `partial`: matches only part of it, \
                                and comes after every close match"
            },
            "explain": {"$ref": "#/components/schemas/Explanation"}
        },
        "additionalProperties": true
    })
}

/// Why a result ranks where it does (`explain=1`, admins only).
fn explanation() -> Value {
    let factor = json!({"type": "number", "minimum": 0, "maximum": 1});
    json!({
        "type": "object",
        "description": "score = fit × distance × freshness × availability (partial matches after close ones)",
        "required": ["fit", "evidence", "distance", "freshness", "availability", "score"],
        "properties": {
            "fit": {"type": "number", "description": "Share of the need the listing covers (0 to about 1; close from 0.5)"},
            "evidence": {"type": "array", "items": {
                "type": "object",
                "required": ["word", "weight", "specific", "strength"],
                "properties": {
                    "word": {"type": "string", "description": "A word of the need, as indexed (stemmed)"},
                    "weight": {"type": "number", "description": "Its share of a perfect fit"},
                    "specific": {"type": "boolean", "description": "False for filler words (group, help, ...)"},
                    "by": {
                        "type": "string",
                        "nullable": true,
                        "description": "What covers it: name, keywords, text, synonym, spelling, completion, a category \
                                        or an audience; null when nothing does"
                    },
                    "strength": factor
                }
            }},
            "distance": factor,
            "freshness": factor,
            "availability": factor,
            "score": {"type": "number"}
        }
    })
}

/// Why nothing (close) was found, and wider searches that would find something.
fn search_help() -> Value {
    json!({
        "type": "object",
        "required": ["reason", "wider"],
        "properties": {
            "reason": {"type": "string"},
            "wider": {"type": "array", "items": {
                "type": "object",
                "required": ["kind", "label", "value", "total"],
                "properties": {
                    "kind": {"type": "string", "enum": ["radius", "without_filter", "spelling"]},
                    "label": {"type": "string", "example": "Search within 25 km (4 results)"},
                    "value": {"type": "string", "description": "The radius in km, the filter to drop, or the corrected words"},
                    "total": {"type": "integer", "minimum": 0}
                }
            }}
        }
    })
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for spec in API_ROUTES {
        let item = paths.entry(spec.path.to_string()).or_insert_with(|| json!({}));
        item[spec.method] = operation(spec);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Common Ground API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Social prescribing: the directory of community assets, referrals and their workflow, \
                            the groups' listings and introductions, reports. Open Referral UK 3.0 is served \
                            separately under /oruk.",
            "license": {"name": "AGPL-3.0-or-later"}
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "From POST /auth/login"}
            },
            "schemas": {
                "SearchAnswer": search_answer(),
                "SearchResult": search_result(),
                "Explanation": explanation(),
                "SearchHelp": search_help(),
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string", "example": "validation_failed"},
                            "message": {"type": "string"},
                            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                            "allowed": {"type": "array", "items": {"type": "string"}}
                        }
                    }}
                }
            },
            "responses": {
                "Error": {
                    "description": "The one error shape: 400 malformed, 401 not signed in, 403 not allowed, \
                                    404 not found, 409 conflict, 413 too large, 422 invalid, 429 too many",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                }
            }
        }
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(document())
}
