from libs.service import service_main
from services.intake.app import create_app
from services.intake.config import Settings

if __name__ == "__main__":
    service_main(create_app, Settings())
