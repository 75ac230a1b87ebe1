module handler

go 1.26.8

require github.com/dostupno/dostupno v0.0.0

replace github.com/dostupno/dostupno => ./function
