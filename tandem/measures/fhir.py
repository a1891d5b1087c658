"""The FHIR model the definitions are checked against.

fhir.resources 8 ships R5 at its top level plus R4B and STU3 packages, and no plain R4 (4.0.1) one. R4B
(4.3.0) kept R4's Questionnaire unchanged in every element used here, so R4B stands in for R4.
"""

from fhir.resources.R4B.questionnaire import Questionnaire

__all__ = ["Questionnaire"]
