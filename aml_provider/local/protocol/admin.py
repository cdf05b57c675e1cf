"""Admin calls of the local service (X-Amz-Target `AmlLocal.<Call>`), signed like any API call.

`AmlLocal.PutFaultPlan` puts the request body in force as the fault plan (`{}` turns faults off) and
answers it as understood; `AmlLocal.GetFaultPlan` answers the plan in force.
"""

from __future__ import annotations

from typing import Any

from aml_provider.local.errors import InvalidInputException
from aml_provider.local.faults import FaultPlan, FaultPlanError, Faults
from aml_provider.local.protocol.wire import UnknownOperationException

PREFIX = "AmlLocal"
CALLS = ("PutFaultPlan", "GetFaultPlan")


def is_admin_target(target: str) -> bool:
    return target.partition(".")[0] == PREFIX


def admin_call(faults: Faults, target: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run one admin call; raises InvalidInputException for a plan that cannot be used."""
    name = target.partition(".")[2]
    if name == "PutFaultPlan":
        try:
            plan = FaultPlan.parse(params)
        except FaultPlanError as err:
            raise InvalidInputException(str(err)) from None
        faults.set_plan(plan)
        return plan.to_json()
    if name == "GetFaultPlan":
        return faults.plan.to_json()
    raise UnknownOperationException(
        f"Unknown admin call '{target}': X-Amz-Target must be one of "
        + ", ".join(f"{PREFIX}.{call}" for call in CALLS)
        + "."
    )
