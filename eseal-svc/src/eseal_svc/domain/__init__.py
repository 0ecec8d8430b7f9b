"""Domain of eseal-svc: seals, credit codes and validation reports; imports no framework."""
