"""The master patient index: one Patient per person.

``identity`` keeps national identifiers unique among the Patients that stand for a person;
``duplicates`` finds the candidates that share no identifier; ``merge`` joins two records
into one without losing anything.
"""
