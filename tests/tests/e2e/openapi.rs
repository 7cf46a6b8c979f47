//! The OpenAPI document lists every API route there is, and nothing that is not there.

use backend::routes::API_ROUTES;
use serde_json::Value;

use crate::helpers::spawn_app;

#[test]
fn the_openapi_document_lists_every_route_and_each_one_answers() {
    let app = spawn_app();
    let answer = app.get("/api/v1/openapi.json");
    assert_eq!(answer.status, 200);
    let doc = answer.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let paths = doc["paths"].as_object().unwrap();
    let operations: usize = paths.values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(operations, API_ROUTES.len(), "one operation per route, no more");
    for spec in API_ROUTES {
        let op = &doc["paths"][spec.path][spec.method];
        assert!(op.is_object(), "{} {} is documented", spec.method, spec.path);
        assert!(!op["summary"].as_str().unwrap().is_empty(), "{} {} has a summary", spec.method, spec.path);
        assert!(op["responses"]["2XX"].is_object() && op["responses"]["422"]["$ref"].is_string());
        let declared: Vec<&str> = op["parameters"]
            .as_array()
            .map(|list| list.iter().filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap()).collect())
            .unwrap_or_default();
        let in_template = spec.path.matches('{').count();
        assert_eq!(declared.len(), in_template, "{} declares its path parameters", spec.path);
        let public = spec.access.starts_with("anyone");
        assert_eq!(op["security"].as_array().unwrap().is_empty(), public, "{}", spec.path);
    }
    // Each documented route is really served: calling it never meets the "no such route" answer.
    let no_route = app.get("/api/v1/no-such-thing");
    assert_eq!(no_route.status, 404);
    let no_route_message = no_route.json()["error"]["message"].clone();
    for spec in API_ROUTES {
        let path = spec.path.replace("{id}", "00000000-0000-4000-8000-000000000000").replace("{name}", "outcomes");
        let body = if matches!(spec.method, "post" | "put" | "patch") { Some("{}") } else { None };
        let answer = app.call(&spec.method.to_uppercase(), &format!("/api/v1{path}"), None, body);
        assert!(answer.status < 500, "{} {path}: {}", spec.method, answer.status);
        let message = serde_json::from_str::<Value>(&answer.body).ok().map(|v| v["error"]["message"].clone());
        assert_ne!(message, Some(no_route_message.clone()), "{} {path} is served", spec.method);
    }
}

#[test]
fn the_search_answer_is_documented_field_by_field() {
    let app = spawn_app();
    let doc = app.get("/api/v1/openapi.json").json();
    let search = &doc["paths"]["/services"]["get"];
    let names: Vec<&str> =
        search["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"explain"), "{names:?}");
    for path in ["/services", "/referrals/{id}/search"] {
        let schema = &doc["paths"][path]["get"]["responses"]["2XX"]["content"]["application/json"]["schema"];
        assert_eq!(schema["$ref"], "#/components/schemas/SearchAnswer", "{path}");
    }
    let schemas = &doc["components"]["schemas"];
    let documented =
        |name: &str| -> Vec<String> { schemas[name]["properties"].as_object().unwrap().keys().cloned().collect() };
    // Every field of a real answer is documented (a weak one, so help and notice are there).
    let answer = app.get("/api/v1/services?q=stop+smoking&near=GL5+1HE").json();
    assert_eq!(answer["match_strength"], "weak", "{answer}");
    for key in answer.as_object().unwrap().keys() {
        assert!(documented("SearchAnswer").contains(key), "answer field {key} is documented");
    }
    for key in ["match_strength", "close_total", "notice", "help"] {
        assert!(documented("SearchAnswer").contains(&key.to_string()), "{key}");
    }
    let result = &answer["results"][0];
    for key in ["distance_km", "snippet_html", "fit"] {
        assert!(result.get(key).is_some() && documented("SearchResult").contains(&key.to_string()), "{key}");
    }
    assert!(documented("SearchResult").contains(&"explain".to_string()));
    let enums = &schemas["SearchAnswer"]["properties"]["match_strength"]["enum"];
    assert_eq!(enums, &serde_json::json!(["close", "weak", "none"]));
    let help = &answer["help"];
    for key in help.as_object().unwrap().keys() {
        assert!(documented("SearchHelp").contains(key), "help field {key} is documented");
    }
}
