"""信息交换平台 pages (admins): placeholder until the views are written."""
from flask import Blueprint

bp = Blueprint("exchange", __name__, url_prefix="/exchange", template_folder="templates")
