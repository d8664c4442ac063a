"""Population-financing simulations: risk models, budget guarantee, capitation what-ifs."""
