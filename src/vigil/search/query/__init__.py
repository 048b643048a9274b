"""Description search: the track query, the plain-English parser, SQL filters, the search form and result cards."""
