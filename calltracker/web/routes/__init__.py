"""The web's routes, one module per audience: the public calls browser, personal feeds, member links."""
