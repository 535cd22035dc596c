"""A report.json row's energies, each under its own name, and the one the report uses.

A row keeps every energy it has with its source, ``measured_energy_mj``/``measured_energy_source``
(a meter), ``lut_energy_mj``/``lut_energy_source`` (a childnet's search-LUT estimate) and, for a
baseline, ``model_energy_mj``/``model_energy_source`` (an analytical model), null where absent;
``energy_basis`` names the one the tables, ratios and one-line summaries use: measured where a
meter measured, else the LUT's, else the model's (null: no energy). One word, one meaning: no
``energy_mj`` that is sometimes measured and sometimes estimated.
"""

__all__ = ["ENERGY_BASES", "energy_fields", "shown_energy", "with_shown_energy"]

# the energies a row may hold, the preferred first
ENERGY_BASES = ("measured", "lut", "model")


def energy_fields(**energies: tuple) -> dict:
    """``energy_fields(measured=(mJ, source), lut=(mJ, source))``: the row's explicit energy
    fields for the kinds given (``ENERGY_BASES``) and ``energy_basis``, the first with a value."""
    out, basis = {}, None
    for kind in ENERGY_BASES:
        if kind not in energies:
            continue
        value, source = energies[kind]
        out[f"{kind}_energy_mj"], out[f"{kind}_energy_source"] = value, source
        if basis is None and value is not None:
            basis = kind
    out["energy_basis"] = basis
    return out


def shown_energy(row: dict) -> tuple:
    """(mJ, source) of the energy ``energy_basis`` names; (None, None) without one."""
    basis = row.get("energy_basis")
    if basis not in ENERGY_BASES:
        return None, None
    return row.get(f"{basis}_energy_mj"), row.get(f"{basis}_energy_source")


def with_shown_energy(row: dict, fallback_source="none") -> dict:
    """``row`` with the page's "energy mJ" and "energy source" columns (``energy_mj``,
    ``energy_source``): the ``energy_basis`` one; without an energy, ``fallback_source``."""
    mj, source = shown_energy(row)
    return dict(row, energy_mj=mj, energy_source=source if mj is not None else fallback_source)
