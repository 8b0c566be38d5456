"""The ASGI application (Starlette): TF Serving's REST API under /v1/, the story page at `/`.

`create_app(repository, max_stories_per_request, examples_file, poll_wait_s)` routes

  /v1/...            every method to RestApi (so a wrong method gets TF Serving's JSON error)
  /                  the story page (static/index.html; its script and style under /static/)
  /story_page.json   the page's settings and examples (story_page.page_settings)

While the application runs (its lifespan), the repository is polled every `poll_wait_s` seconds
for new versions (None: not polled); at shutdown every version is unloaded, which lets the
batchers finish their queued requests.
"""
import contextlib
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from storyvis_tf.serving.errors import ServingError
from storyvis_tf.serving.model_repository import ModelRepository
from storyvis_tf.serving.rest_api import RestApi
from storyvis_tf.serving.story_page import page_settings

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_API_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(repository: ModelRepository, max_stories_per_request: int,
               examples_file: str = "", poll_wait_s: float | None = None) -> Starlette:
    """The application over `repository` (see the module docstring)."""
    api = RestApi(repository, max_stories_per_request)

    async def rest(request: Request) -> Response:
        status, body = await api.handle(request.method, request.url.path, await request.body())
        return Response(body, status, media_type="application/json")

    async def story_page(request: Request) -> Response:
        return FileResponse(os.path.join(STATIC_DIR, "index.html"))

    async def story_page_json(request: Request) -> Response:
        try:
            return JSONResponse(page_settings(repository, examples_file,
                                              max_stories_per_request))
        except ServingError as error:
            return JSONResponse({"error": error.message}, error.http_status)
        except ValueError as error:   # an --examples file that does not fit a new version
            return JSONResponse({"error": str(error)}, 500)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if poll_wait_s is not None:
            repository.start_polling(poll_wait_s)
        try:
            yield
        finally:
            repository.stop()

    return Starlette(routes=[
        Route("/", story_page, methods=["GET"]),
        Route("/story_page.json", story_page_json, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        Route("/v1/{path:path}", rest, methods=_API_METHODS),
    ], lifespan=lifespan)
