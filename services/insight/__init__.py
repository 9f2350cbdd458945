"""Staff insight (issue 17): the key figures of a unit and its children for a period (``/stats``), the lists behind
them, and search over leads and activities. Reports upward every month and year (000 §4 "指导、监督"; 002 §12(三);
003 四 "全过程记录") start from these figures. Read-only: nothing here changes state."""
