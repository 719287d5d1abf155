"""Commerce answers the flows act on, parsed at the edge."""

from __future__ import annotations

from enum import IntEnum

from pydantic import BaseModel, ConfigDict


class OperationStatus(IntEnum):
    """Commerce bulk operation states (``Magento\\AsynchronousOperations``)."""

    COMPLETE = 1
    RETRIABLY_FAILED = 2
    FAILED = 3
    OPEN = 4
    REJECTED = 5


class AcceptedItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    data_hash: str | None = None
    status: str
    error_message: str | None = None


class BulkAccepted(BaseModel):
    """The answer to an async bulk request: queued, not yet applied."""

    model_config = ConfigDict(extra="ignore")

    bulk_uuid: str
    request_items: list[AcceptedItem] = []
    errors: bool = False


class Operation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    status: OperationStatus
    result_message: str | None = None
    error_code: int | None = None


class BulkStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bulk_id: str
    operation_count: int
    operations_list: list[Operation] = []

    @property
    def open(self) -> bool:
        """Some operations still wait for the consumer."""
        return any(op.status == OperationStatus.OPEN for op in self.operations_list)

    @property
    def failed(self) -> list[Operation]:
        return [op for op in self.operations_list if op.status in _FAILED]

    @property
    def complete(self) -> bool:
        return len(self.operations_list) == self.operation_count and all(
            op.status == OperationStatus.COMPLETE for op in self.operations_list)


_FAILED = frozenset({OperationStatus.RETRIABLY_FAILED, OperationStatus.FAILED, OperationStatus.REJECTED})
