"""Counting the queries of a request made with the test client.

CaptureQueriesContext reads Django's query log, which the test client's
request_started signal resets mid-request: it would count 0 whatever happened.
An execute wrapper sees every query.
"""

from collections.abc import Callable

from django.db import connection


def queries_during(action: Callable[[], object]) -> int:
    count = 0

    def counter(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        action()
    return count
