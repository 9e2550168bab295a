"""Common Norwegian given and family names for the demo staff.

Hand-picked from names that are frequent in Norway (SSB's name statistics list them
among the most common); no combination is meant to be a real person.
"""

from __future__ import annotations

from typing import Final

FEMALE: Final = (
    "Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg",
    "Hilde", "Anna", "Solveig", "Marianne", "Randi", "Ida", "Nina", "Maria", "Elisabeth",
    "Kristin", "Silje", "Hanne", "Tone", "Camilla", "Ingeborg", "Heidi", "Ragnhild",
    "Sigrid", "Guro", "Mari", "Kjersti", "Tuva", "Ane", "Siri", "Turid", "Gunn",
    "Emma", "Nora", "Sara", "Thea",
)  # fmt: skip

MALE: Final = (
    "Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Thomas",
    "Hans", "Geir", "Tor", "Morten", "Terje", "Odd", "Erik", "Martin", "Andreas",
    "John", "Anders", "Rune", "Trond", "Jon", "Tore", "Harald", "Olav", "Magnus",
    "Eirik", "Kristian", "Håkon", "Sindre", "Jonas", "Even", "Audun", "Stian",
    "Henrik", "Sondre", "Vegard", "Øystein",
)  # fmt: skip

FAMILY: Final = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen",
    "Kristiansen", "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg",
    "Haugen", "Hagen", "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen",
    "Halvorsen", "Henriksen", "Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen",
    "Iversen", "Strand", "Solberg", "Svendsen", "Eide", "Knutsen", "Martinsen",
    "Paulsen", "Bakken", "Kristoffersen", "Mathisen", "Lie", "Amundsen", "Nguyen",
    "Rasmussen", "Ali", "Lunde", "Solheim", "Berge", "Moe", "Nygård", "Bakke",
    "Kristensen", "Fredriksen", "Holm", "Lien", "Hauge", "Christensen", "Andresen",
    "Nielsen", "Knudsen", "Evensen", "Sæther", "Aas", "Myhre", "Hanssen", "Ahmed",
    "Haugland", "Thomassen", "Sivertsen", "Simonsen", "Danielsen", "Berntsen",
    "Sandvik", "Rønning", "Arnesen", "Antonsen", "Næss", "Vik", "Haug", "Ellingsen",
    "Thorsen", "Edvardsen", "Birkeland", "Isaksen", "Gulbrandsen", "Ruud", "Aasen",
    "Strøm", "Myklebust", "Tangen", "Ødegård", "Eliassen", "Helland", "Bøe",
    "Jenssen", "Aune", "Mikkelsen", "Tveit", "Brekke", "Abrahamsen", "Madsen",
)  # fmt: skip
