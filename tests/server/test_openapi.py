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
    }
    present = {(p, m) for p, ops in paths.items() for m in ops}
    assert expected <= present
    assert "BearerAuth" in doc["components"]["securitySchemes"]
