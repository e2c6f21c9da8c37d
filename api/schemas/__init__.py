"""Request bodies (`requests`) and response bodies (`responses`): the API's contract, apart from the domain's events."""
