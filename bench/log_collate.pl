#!/usr/bin/perl
# log_collate.pl - group a Postfix log's lines by message, the way Postfix's
# auxiliary collate.pl script does it (written anew for postie's benchmark,
# as the baseline a Perl script gets): the lines of one queue ID are kept
# together, with the smtpd session's lines (found by process ID, from
# "connect from" on) that carried it, and printed as one block when the queue
# manager says "removed"; what is still open at the end is printed last.
#
#   perl bench/log_collate.pl [FILE...] > grouped
use strict;
use warnings;

my %msg;        # queue ID -> lines
my %sess;       # smtpd pid -> lines of the session so far
my %owner;      # smtpd pid -> queue IDs the session carried

while (my $line = <>) {
    my ($prog, $pid, $rest) = $line =~ m{ (?:postfix|postie)[-\w]*(?:/[-\w]+)*/([-\w]+)\[(\d+)\]: (.*)$}
        or next;
    if ($prog eq 'smtpd') {
        if ($rest =~ /^connect from /) {
            $sess{$pid} = [$line];
            delete $owner{$pid};
            next;
        }
        if ($rest =~ /^([0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{12,}): client=/) {
            $msg{$1} = [ @{ $sess{$pid} || [] }, $line ];
            push @{ $owner{$pid} }, $1;
            next;
        }
        if ($rest =~ /^disconnect from /) {
            push @{ $msg{$_} }, $line for grep { $msg{$_} } @{ $owner{$pid} || [] };
            delete $sess{$pid};
            delete $owner{$pid};
            next;
        }
    }
    if ($rest =~ /^([0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{12,}): (.*)$/) {
        my ($qid, $what) = ($1, $2);
        push @{ $msg{$qid} }, $line;
        if ($what eq 'removed') {
            print @{ $msg{$qid} }, "\n";
            delete $msg{$qid};
        }
        next;
    }
    push @{ $sess{$pid} }, $line if $prog eq 'smtpd' && $sess{$pid};
}
for my $qid (sort keys %msg) {
    print @{ $msg{$qid} }, "\n";
}
