#!/usr/bin/perl
# Prints, as JSON, what Sisimai (Debian's libsisimai-perl) reads in each message file
# given: [{"file", "address", "reason", "status", "replycode", "diagnostic"}], one entry
# per recipient Sisimai finds, and {"file", "address": null} for a file it finds none in.
# Nothing here reads a message with broadsheet's code.
#
#     corpus_sisimai.pl FILE...
use strict;
use warnings;
use Sisimai;
use JSON::PP;

my @out;
for my $file (@ARGV) {
    # Delivered reports and auto-replies too, so that every message gets a verdict.
    my $found = Sisimai->make($file, delivered => 1, vacation => 1) || [];
    for my $e (@$found) {
        push @out, {
            file       => $file,
            address    => lc($e->recipient->address),
            reason     => $e->reason,
            status     => $e->deliverystatus,
            replycode  => $e->replycode,
            diagnostic => $e->diagnosticcode,
        };
    }
    push @out, { file => $file, address => undef } unless @$found;
}
print JSON::PP->new->ascii->canonical->encode(\@out);
