"""The API's documentation pages, working with no internet.

FastAPI's own ``/docs`` and ``/redoc`` pages load Swagger UI and ReDoc from jsDelivr, their
favicon from fastapi.tiangolo.com and ReDoc's fonts from Google: offline, ``/api/docs``
stayed blank. These pages load the same tools from files installed with the app: the
``static/`` folder of the PyPI package ``fastapi-offline`` (Swagger UI 5.32, ReDoc 2.5;
pinned in requirements.txt), served at ``/api/docs/assets/``. Only those files are used,
not the package's FastAPI factory. One outside link remains: ReDoc's "API docs by Redocly"
logo (cdn.redoc.ly), which the docs' CSP refuses and ReDoc then leaves out.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/api/docs"
REDOC_URL = "/api/redoc"
ASSETS_URL = "/api/docs/assets"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
FAVICON_URL = "/favicon.ico"  # the site's own (assets/favicon.ico)
# Added to FastAPI's defaults: Swagger UI would otherwise ask validator.swagger.io to check
# the schema (an outside request) on any host but localhost.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def install(api: FastAPI) -> None:
    """Serve Swagger UI at ``/api/docs`` and ReDoc at ``/api/redoc`` from local files.

    ``api`` must be created with ``docs_url=None, redoc_url=None`` (FastAPI's CDN pages).
    """
    api.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="api-docs-assets")

    @api.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{api.openapi_url}",
            title=f"{api.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{FAVICON_URL}",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @api.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{api.openapi_url}",
            title=f"{api.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{FAVICON_URL}",
            with_google_fonts=False,
        )
