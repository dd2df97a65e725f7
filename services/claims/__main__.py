from libs.service import service_main
from services.claims.app import create_app
from services.claims.config import Settings

if __name__ == "__main__":
    service_main(create_app, Settings())
