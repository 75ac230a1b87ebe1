package main

import (
	"net/http"

	accountfn "github.com/dostupno/dostupno/functions/account"
	cachesnapshot "github.com/dostupno/dostupno/functions/cache-snapshot"
	catchup "github.com/dostupno/dostupno/functions/catch-up"
	dbwriter "github.com/dostupno/dostupno/functions/db-writer"
	getevent "github.com/dostupno/dostupno/functions/get-event"
	loginfn "github.com/dostupno/dostupno/functions/login"
	registerfn "github.com/dostupno/dostupno/functions/register"
	searchevents "github.com/dostupno/dostupno/functions/search-events"
	seatavailability "github.com/dostupno/dostupno/functions/seat-availability"
	uploadphoto "github.com/dostupno/dostupno/functions/upload-photo"
	upsertevent "github.com/dostupno/dostupno/functions/upsert-event"
	upsertvenue "github.com/dostupno/dostupno/functions/upsert-venue"
	"github.com/dostupno/dostupno/shared/instance"
)

// builders are the functions the local runner can serve, by stack.yml name. Every function of
// stack.yml must be here (the runner refuses to start otherwise); db-writer-2, -3... are built
// from the db-writer entry.
var builders = map[string]func(*instance.Deps) (http.Handler, error){
	searchevents.Name:     searchevents.New,
	cachesnapshot.Name:    cachesnapshot.New,
	getevent.Name:         getevent.New,
	dbwriter.Name:         dbwriter.New,
	uploadphoto.Name:      uploadphoto.New,
	registerfn.Name:       registerfn.New,
	loginfn.Name:          loginfn.New,
	upsertevent.Name:      upsertevent.New,
	upsertvenue.Name:      upsertvenue.New,
	seatavailability.Name: seatavailability.New,
	catchup.Name:          catchup.New,
	accountfn.Name:        accountfn.New,
}
