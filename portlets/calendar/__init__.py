"""日程: the week agenda portlet, a month page and the iCalendar export of every plugin's events."""
