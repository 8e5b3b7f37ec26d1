"""The data layer (spec/data.md): datasets, versions, import and export jobs, pipeline runs,
Arrow Flight. `layer.py` declares it to the host; `services.py` builds its services."""
