"""Parameters shared by both sides of the Epstein vs Mesa benchmark (Run 2's setting)."""

PARAMS = {"citizen_density": 0.7, "cop_density": 0.04, "legitimacy": 0.82, "max_jail_term": 30,
          "vision": 7}
