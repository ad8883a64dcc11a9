"""Questionnaire definitions: the file format, its checks, and the model (Flask-free)."""

from surveyapp.errors import DefinitionError
from surveyapp.questionnaires.loader import (
    KINDS,
    Catalogue,
    LoadResult,
    Problem,
    check_source,
    load_all,
    load_file,
    load_questionnaire,
    questionnaire_files,
)
from surveyapp.questionnaires.model import Item, Option, Page, Questionnaire, Row, Scale

__all__ = [
    "KINDS",
    "Catalogue",
    "DefinitionError",
    "Item",
    "LoadResult",
    "Option",
    "Page",
    "Problem",
    "Questionnaire",
    "Row",
    "Scale",
    "check_source",
    "load_all",
    "load_file",
    "load_questionnaire",
    "questionnaire_files",
]
