/* dbreset--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION dbreset UPDATE TO '1.1'" to load this file. \quit

-- 1.1 changes no SQL object of 1.0; its C library refuses calls after a
-- write, never returns while its worker runs, and mirrors core's
-- permissions.
--
-- A fresh 1.1 install owns its schema.  An install updated from 1.0 cannot:
-- 1.0 lives in schema dbreset itself, and an extension may not own the
-- schema it is in.  After DROP EXTENSION, such an install leaves the empty
-- schema dbreset behind (README, "Uninstall").
