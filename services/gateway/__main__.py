"""`python -m services.gateway`: the HTTP API and public pages on `GATEWAY_HTTP_PORT`."""

import gc

import uvicorn

from libs.logs import configure_logging
from services.gateway.app import create_app
from services.gateway.config import Settings

if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    app = create_app(settings)
    # What start-up loaded (modules, the app, its OpenAPI schemas: some 60,000 objects) is left out of
    # the collector's passes: a wide upstream read allocates tens of thousands of objects, and the full
    # passes it set off walked all of those again (about 10 ms a read; services/gateway/README.md, "Speed").
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=settings.http_host, port=settings.http_port,
                log_level=settings.log_level.lower(), proxy_headers=False)
