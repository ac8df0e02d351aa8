package main

import "time"

// clock is the time the gateway and the Django API's tokens read: key
// expiry, token expiry, usage record times. It is time.Now; a test that
// must see time pass (a key or a token expiring) moves it instead of
// sleeping (see fakeClock in helpers_test.go).
var clock = time.Now
