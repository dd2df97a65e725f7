"""`python -m services.gateway`: the HTTP API and public pages on `GATEWAY_HTTP_PORT`."""

import uvicorn

from libs.logs import configure_logging
from services.gateway.app import create_app
from services.gateway.config import Settings

if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                log_level=settings.log_level.lower(), proxy_headers=False)
