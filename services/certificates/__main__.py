from libs.service import service_main
from services.certificates.app import create_app
from services.certificates.config import Settings

if __name__ == "__main__":
    service_main(create_app, Settings())
