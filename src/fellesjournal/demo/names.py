"""Norwegian names for the synthetic population, with rough real-world frequencies.

Sources: the lists follow Statistics Norway's published name statistics (ssb.no/navn:
most common given names by birth decade, most common family names), read by hand and
rounded; the weights are approximate (bearers in thousands for family names, relative
popularity within a birth cohort for given names), not SSB's exact counts. A small share
of names common among immigrants to Norway is added so that the population is not
uniformly ethnic Norwegian. No list here names a real person; combinations are random.

Norwegian naming: a person has one or two given names (``Anne Marie``, ``Ole Martin``),
sometimes a *mellomnavn* (a surname-type middle name, ``Kari Haugen Berg``) and a family
name. In FHIR (no-basis) the middle name goes in its own extension, never in ``given``.

The tables are written as ``"Name weight, Name weight, ..."`` strings to keep them
compact; :func:`_table` reads them.
"""

from __future__ import annotations

from typing import Final


def _table(text: str) -> tuple[tuple[str, int], ...]:
    """``"Kari 30, Anne 28"`` → ``(("Kari", 30), ("Anne", 28))``; names may have spaces."""
    out = []
    for item in text.split(","):
        name, _, weight = item.strip().rpartition(" ")
        out.append((name, int(weight)))
    return tuple(out)


#: Female given names by birth cohort: old (before 1960), mid (1960-1989), young (1990-).
FEMALE: Final = {
    "old": _table(
        "Kari 30, Anne 28, Ingrid 22, Liv 22, Marit 20, Solveig 15, Randi 18, Bjørg 14, "
        "Gerd 13, Berit 16, Astrid 13, Eva 12, Inger 18, Karin 11, Aud 11, Ragnhild 10, "
        "Else 9, Sigrid 9, Turid 10, Gunn 8, Åse 9, Kirsten 8, Reidun 7, Margit 7, Unni 8, "
        "Jorunn 7, Grete 7, Wenche 7, Tove 9, Ellen 6, Bodil 5, Gudrun 5, Oddbjørg 4, "
        "Sølvi 4, Målfrid 3"
    ),
    "mid": _table(
        "Anne 25, Hilde 20, Marianne 18, Ingrid 12, Kristin 18, Camilla 14, Silje 15, "
        "Linda 13, Elisabeth 11, Heidi 15, Ida 9, Tone 11, Trine 12, Monica 9, Mari 11, "
        "Lene 10, Hege 10, Kari 8, Ingvild 8, Line 10, Anita 10, Marte 8, Siri 9, Tonje 7, "
        "Gro 7, Nina 9, Stine 8, Cecilie 8, Therese 7, Kristine 7, Åshild 3, Solfrid 3, "
        "Torunn 4, Ragnhild 4"
    ),
    "young": _table(
        "Emma 18, Nora 17, Sara 15, Sofie 14, Ingrid 12, Maja 12, Emilie 14, Thea 14, "
        "Ida 12, Julie 13, Hanna 12, Ella 10, Olivia 10, Leah 7, Frida 9, Amalie 9, "
        "Tiril 7, Vilde 9, Aurora 8, Sofia 7, Selma 7, Astrid 7, Linnea 6, Maria 8, "
        "Mathilde 7, Ingeborg 5, Hedda 6, Sigrid 6, Martine 8, Andrea 7, Malin 6, Kaja 5, "
        "Oda 5, Guro 4, Åsne 2, Synnøve 2"
    ),
}

#: Male given names by birth cohort.
MALE: Final = {
    "old": _table(
        "Jan 30, Per 27, Bjørn 24, Ole 22, Kjell 20, Knut 19, Arne 19, Svein 18, Hans 17, "
        "Odd 14, Terje 12, Rolf 12, Tor 12, Leif 11, Geir 9, Trond 9, Nils 11, Arild 8, "
        "Harald 9, Kåre 8, Olav 10, Egil 7, Ivar 7, Einar 8, Magne 5, Sverre 5, Oddvar 5, "
        "Gunnar 7, Reidar 6, Øyvind 5, Åge 4, Bjarne 5, Ragnar 4, Asbjørn 4"
    ),
    "mid": _table(
        "Jan 12, Per 10, Lars 16, Morten 17, Geir 14, Thomas 16, Anders 15, Espen 14, "
        "Kristian 12, Trond 13, Tor 8, Kjetil 12, Stian 11, Martin 12, Erik 12, Rune 12, "
        "Frode 11, Øystein 9, Hans 6, Eirik 9, Terje 8, Jon 9, Kenneth 7, Kristoffer 8, "
        "Bjørn 7, Marius 8, Vegard 7, Andreas 11, Knut 6, Ståle 4, Håvard 6, Jørn 4, "
        "Ørjan 4, Dag 4, Pål 5"
    ),
    "young": _table(
        "Jakob 16, Emil 16, Noah 12, Oliver 13, Filip 12, William 13, Lucas 12, Henrik 13, "
        "Liam 8, Aksel 11, Mathias 14, Magnus 14, Elias 12, Sander 12, Kasper 8, Isak 10, "
        "Jonas 12, Tobias 12, Oskar 10, Ludvig 7, Johannes 8, Sebastian 9, Kristian 7, "
        "Martin 9, Markus 9, Adrian 9, Sondre 8, Håkon 8, Jørgen 7, Even 5, Vetle 5, "
        "Mikkel 5, Theodor 5, Iver 5, Brage 4"
    ),
}

#: Common second given names (``Anne Marie``, ``Jan Erik``).
SECOND_FEMALE: Final = ("Marie", "Kristin", "Elisabeth", "Helene", "Margrethe", "Sofie", "Lise")
SECOND_MALE: Final = ("Erik", "Martin", "Olav", "Arne", "Kristian", "André", "Petter", "Johan")

#: Family names with bearers in thousands (roughly): the common -sen names, farm names,
#: and names typical of Trøndelag and Møre og Romsdal.
FAMILY: Final = _table(
    "Hansen 50, Johansen 47, Olsen 46, Larsen 37, Andersen 36, Pedersen 34, Nilsen 33, "
    "Kristiansen 24, Jensen 23, Karlsen 22, Johnsen 21, Pettersen 21, Eriksen 20, Berg 19, "
    "Haugen 15, Hagen 15, Johannessen 14, Andreassen 13, Jacobsen 12, Dahl 12, "
    "Jørgensen 11, Halvorsen 11, Henriksen 11, Lund 11, Sørensen 10, Jakobsen 10, Moen 10, "
    "Gundersen 9, Iversen 9, Strand 9, Solberg 9, Svendsen 9, Eide 9, Knutsen 8, "
    "Martinsen 8, Paulsen 8, Bakken 8, Kristoffersen 8, Mathisen 8, Lie 8, Amundsen 7, "
    "Rasmussen 7, Lunde 7, Solheim 7, Berntsen 6, Nygård 6, Bakke 6, Kristensen 6, Moe 6, "
    "Fredriksen 6, Holm 6, Lien 6, Hauge 5, Christensen 5, Andresen 5, Nielsen 5, "
    "Knudsen 5, Evensen 5, Sæther 5, Aas 5, Myhre 5, Hanssen 5, Haugland 5, Thomassen 5, "
    "Sivertsen 5, Simonsen 4, Danielsen 4, Berge 4, Sandvik 4, Rønning 4, Arnesen 4, "
    "Antonsen 4, Næss 4, Vik 4, Haug 4, Ellingsen 4, Thorsen 4, Edvardsen 4, Isaksen 4, "
    "Ruud 4, Aasen 4, Strøm 4, Myklebust 4, Tangen 4, Ødegård 4, Eliassen 4, Helland 3, "
    "Bøe 3, Aune 3, Brekke 3, Mikkelsen 3, Tveit 3, Abrahamsen 3, Madsen 3, Hoff 3, "
    "Kvam 2, Lyng 2, Bjerkan 2, Stene 2, Grøtting 1, Hjelle 2, Ulstein 2, Hareide 1, "
    "Sævik 1, Aarseth 2, Dimmen 1, Ose 1, Hatlø 1, Brunstad 1, Fiskaa 1, Kvernmo 1, "
    "Ystgaard 1, Fossum 2, Hårstad 1, Sandnes 2"
)

#: Mellomnavn are surname-type names; farm names (not the -sen names) are the usual ones.
MIDDLE: Final = tuple((n, w) for n, w in FAMILY if not n.endswith("sen"))

#: Names common among immigrants to Norway, by origin: (weight, female given names,
#: male given names, family names).
FOREIGN: Final[tuple[tuple[int, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]] = (
    (
        30,
        ("Anna", "Katarzyna", "Magdalena", "Agnieszka", "Joanna"),
        ("Piotr", "Tomasz", "Krzysztof", "Paweł", "Michał"),
        ("Nowak", "Kowalczyk", "Wiśniewski", "Wójcik", "Lewandowski"),
    ),
    (12, ("Rūta", "Inga", "Aistė"), ("Tomas", "Mantas", "Darius"), ("Jonaitis", "Kazlauskas")),
    (
        14,
        ("Fatima", "Amina", "Hodan", "Sahra"),
        ("Mohamed", "Abdi", "Ahmed", "Hassan"),
        ("Mohamed", "Ali", "Hassan", "Abdi", "Hussein"),
    ),
    (
        14,
        ("Rasha", "Lina", "Noor", "Hiba"),
        ("Omar", "Khaled", "Ahmad", "Yousef"),
        ("Alhassan", "Haddad", "Khalil", "Darwish"),
    ),
    (
        10,
        ("Linh", "Thi", "Mai", "Hoa"),
        ("Minh", "Tuan", "Duc", "Hung"),
        ("Nguyen", "Tran", "Pham", "Le"),
    ),
    (
        12,
        ("Karin", "Elin", "Maja"),
        ("Johan", "Erik", "Anders"),
        ("Johansson", "Andersson", "Karlsson", "Lindqvist"),
    ),
)

#: Polish and Lithuanian family names take a feminine form.
FEMININE_FORMS: Final = {
    "Wiśniewski": "Wiśniewska",
    "Lewandowski": "Lewandowska",
    "Jonaitis": "Jonaitienė",
    "Kazlauskas": "Kazlauskienė",
}

#: The preferred language (BCP 47) of each FOREIGN origin, in the same order.
FOREIGN_LANGUAGES: Final = ("pl", "lt", "so", "ar", "vi", "sv")
