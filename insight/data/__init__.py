"""Reading and checking customer data: table sources (files and databases), column roles and cleaning
(schema), the model matrix and its saved encoding (features), and the synthetic demo generator."""
