"""Testing mode's core: a clock the testing API sets, freezes and advances; seed documents; reset snapshots.

Nothing here knows HTTP or a dialect's field names: `handlers/testing*.py` read the testing API's
requests and hand these modules typed values.
"""
