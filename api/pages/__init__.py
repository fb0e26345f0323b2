"""Server-rendered pages for people: the mentor's decision page and the mentee's order page."""
