"""The OpenAPI document is generated from the code and describes every endpoint."""

from __future__ import annotations


def test_openapi_document_lists_the_contract(api):
    r = api.client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    expected = {
        ("/api/v1/devices", "post"),
        ("/api/v1/city", "get"),
        ("/api/v1/routes", "get"),
        ("/api/v1/cars/{car_id}/status", "put"),
        ("/api/v1/cars/{car_id}/assignment", "get"),
        ("/api/v1/bookings", "post"),
        ("/api/v1/bookings/{booking_id}", "get"),
        ("/api/v1/bookings/{booking_id}/progress", "post"),
        ("/api/v1/bookings/{booking_id}/arrived", "post"),
        ("/api/v1/bookings/{booking_id}/cancel", "post"),
        ("/api/v1/health", "get"),
        ("/api/v1/cars", "get"),
        ("/api/v1/reservations", "post"),
        ("/api/v1/reservations", "get"),
        ("/api/v1/reservations/{node}", "delete"),
    }
    present = {(p, m) for p, ops in paths.items() for m in ops}
    assert expected <= present
    assert "BearerAuth" in doc["components"]["securitySchemes"]
    # Every operation describes its success body (the city file is free-form JSON) and input.
    for path, ops in paths.items():
        for method, op in ops.items():
            ok = next(code for code in op["responses"] if code.startswith("2"))
            if not path.endswith("/city"):
                assert "application/json" in op["responses"][ok].get("content", {}), (path, method)
            if method in ("post", "put") and not path.endswith(("/arrived", "/cancel")):
                assert "requestBody" in op, (path, method)
    schemas = doc["components"]["schemas"]
    assert "stream_token" in schemas["BookingOut"]["properties"]
    assert set(schemas["ReservationOut"]["required"]) == {
        "node",
        "car",
        "acquired_at",
        "expires_at",
    }
    post = paths["/api/v1/reservations"]["post"]
    assert {"201", "400", "401", "403", "404", "409"} <= set(post["responses"])
    assert {"200", "404", "409"} <= set(paths["/api/v1/reservations/{node}"]["delete"]["responses"])
