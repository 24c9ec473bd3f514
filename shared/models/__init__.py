"""Request, response and domain models, kept apart: requests validate input, domain objects carry
state between managers and repositories, responses shape what a client sees."""
