"""Operator tools on the launcher PLC (``hil plc``): the read model (``snapshot``), the link
(``link``), the maintenance writes (``maintenance``, never arm or fire) and the live view
(``watch_view``)."""
