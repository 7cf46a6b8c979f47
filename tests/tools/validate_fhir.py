"""Validates FHIR R4 (4.0.1) JSON files with the fhir.resources models (6.4, pydantic 1), a
validator the project does not write: required elements, cardinality, types and unknown
elements, for every resource and every resource inside a Bundle.

Usage: python validate_fhir.py FILE...   (exit status 1 and the reasons when one is invalid)
"""
import json
import sys

from fhir.resources import get_fhir_model_class

failed = False
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    try:
        get_fhir_model_class(document["resourceType"]).parse_obj(document)
        print(f"{path}: valid FHIR R4 {document['resourceType']}")
    except Exception as error:  # the models raise pydantic's ValidationError
        failed = True
        print(f"{path}: INVALID\n{error}")
sys.exit(1 if failed else 0)
