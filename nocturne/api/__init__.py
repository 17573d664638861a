"""The JSON API, served by the Reflex backend on the app's own port."""

from fastapi import FastAPI


def create_api() -> FastAPI:
    return FastAPI(title="Nocturne API", docs_url="/api/docs", openapi_url="/api/openapi.json")
