"""The region: Helse Midt-Norge's health trusts, the municipalities of Trøndelag and Møre
og Romsdal, their units and staff, and which municipalities are members of the shared
record (the option model)."""
